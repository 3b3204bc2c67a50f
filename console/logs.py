"""Logging for the console: a rotating file in the user log dir, every line redacted.

`setup_logging` is called once by the CLI (and again is harmless). The redacting filter is
put on every handler of the root logger, ours and any already there, so a record is
masked whichever way it leaves. Verbosity changes how much is logged, never the masking.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from pathlib import Path

import platformdirs

from console.redaction import RedactingFilter

APP_NAME = "vps-console"
LOG_FILE_NAME = "console.log"
MAX_BYTES = 5 * 1024 * 1024
BACKUPS = 5
FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
# Libraries that narrate every request at DEBUG; their lines carry headers and bodies.
CHATTY_LIBRARIES = ("httpx", "httpcore", "urllib3", "asyncio", "markdown_it", "alembic")


def log_dir() -> Path:
    return Path(platformdirs.user_log_dir(APP_NAME))


def log_file() -> Path:
    return log_dir() / LOG_FILE_NAME


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Log files are readable by their owner only: shared jump hosts have other users."""

    def _open(self):
        # Created 0600 before the stdlib opens it: never readable by others, not even for
        # the moment between creating it and a chmod, whatever the umask.
        os.close(os.open(self.baseFilename, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600))
        stream = super()._open()
        os.chmod(self.baseFilename, 0o600)
        return stream


# Marks handlers installed here, so a second setup replaces rather than doubles them.
_MARK = "_vps_console_handler"


def install_redaction(logger: logging.Logger | None = None) -> None:
    """Put the redacting filter on every handler of `logger` (default: root) lacking one."""
    logger = logger or logging.getLogger()
    for handler in logger.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


def setup_logging(verbose: int = 0, *, stderr: bool = True, path: Path | None = None) -> Path:
    """Log to the user log dir (INFO; DEBUG with -v) and, for the CLI, warnings to stderr
    (INFO with -v, DEBUG with -vv). The TUI passes stderr=False: it owns the terminal.
    Returns the log file's path."""
    path = path or log_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(handler)
        handler.close()

    file_handler = PrivateRotatingFileHandler(
        path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8"
    )
    file_handler.setLevel(logging.DEBUG if verbose >= 1 else logging.INFO)
    file_handler.setFormatter(logging.Formatter(FORMAT))
    handlers: list[logging.Handler] = [file_handler]
    if stderr:
        console = logging.StreamHandler(sys.stderr)
        console.setLevel(
            logging.DEBUG if verbose >= 2 else logging.INFO if verbose == 1 else logging.WARNING
        )
        console.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        handlers.append(console)
    for handler in handlers:
        setattr(handler, _MARK, True)
        root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose >= 1 else logging.INFO)
    for name in CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose >= 3 else logging.WARNING)
    install_redaction(root)
    logging.captureWarnings(True)
    return path
