"""The layering is a contract (pyproject.toml [tool.importlinter]), checked on every run."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_import_contracts_hold():
    lint = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    result = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_installed_entry_point_answers_help_and_version():
    exe = Path(sys.executable).with_name("vps-console")
    help_text = subprocess.run(
        [str(exe), "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "Usage: vps-console" in help_text
    version = subprocess.run(
        [str(exe), "--version"], capture_output=True, text=True, check=True
    ).stdout
    from console import __version__

    assert version.strip() == f"vps-console, version {__version__}"
