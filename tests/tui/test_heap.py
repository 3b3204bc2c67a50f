"""The console's malloc setting: one arena for all its threads on glibc, nothing elsewhere."""

from __future__ import annotations

import subprocess
import sys

import pytest

from console.tui import heap

# Threads that each allocate through malloc (bytes larger than pymalloc's 512), then glibc's
# own account of its arenas (malloc_stats, on stderr: one "Arena N:" per arena).
ARENAS_PROBE = """
import ctypes, sys, threading
from console.tui import heap
if sys.argv[1] == "tuned":
    assert heap.tune_allocator()
kept = []
def allocate():
    kept.append(bytes(100_000))
threads = [threading.Thread(target=allocate) for _ in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
ctypes.CDLL(None).malloc_stats()
"""


def arenas(mode: str) -> int:
    run = subprocess.run(
        [sys.executable, "-c", ARENAS_PROBE, mode], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    return sum(line.startswith("Arena ") for line in run.stderr.splitlines())


@pytest.mark.skipif(not heap.glibc(), reason="mallopt's arenas are glibc's")
def test_on_glibc_the_console_threads_share_one_malloc_arena():
    assert arenas("default") > 1  # the probe does make glibc open arenas per thread
    assert arenas("tuned") == 1


def test_off_glibc_the_allocator_is_left_alone(monkeypatch):
    def not_glibc(name: str) -> str:
        raise ValueError("unrecognized configuration name")  # as on musl or macOS

    monkeypatch.setattr(heap.os, "confstr", not_glibc)
    monkeypatch.delitem(sys.modules, "ctypes", raising=False)
    assert not heap.glibc()
    assert heap.tune_allocator() is False
    assert "ctypes" not in sys.modules  # not even loaded


def test_the_console_start_tunes_the_allocator(frozen_context, monkeypatch):
    from console.tui import launch

    calls = []
    monkeypatch.setattr(launch, "tune_allocator", lambda: calls.append(1) or True)
    context = frozen_context
    launch.build_context(context.config, context.store, context.secrets, services=context.services)
    assert calls == [1]
