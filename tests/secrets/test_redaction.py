"""The redacting log filter: planted secrets never reach a log line, whatever the route."""

from __future__ import annotations

import logging
import stat

import pytest

from console.logs import setup_logging
from console.redaction import HIDDEN, RedactingFilter, redact, register_secret

ENGINE_PW = "Pl4nted&Engine/Secret"
WINDOWS_KEY = "VK7JG-NPHTM-C97JM-9MPGT-3V66T"


@pytest.fixture
def captured():
    """A logger whose only handler keeps formatted lines, with the filter on it."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            lines.append(self.format(record))

    handler = Keep()
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, lines
    logger.removeHandler(handler)


def test_known_secret_is_masked_in_message_args_and_exception(captured):
    logger, lines = captured
    register_secret(ENGINE_PW)
    logger.info("connecting with " + ENGINE_PW)
    logger.debug("form body: %s", f"username=admin&password={ENGINE_PW.replace('&', '%26')}")
    logger.debug("payload %r", {"nested": [ENGINE_PW]})
    try:
        raise RuntimeError(f"engine said no to {ENGINE_PW}")
    except RuntimeError:
        logger.exception("login failed")
    text = "\n".join(lines)
    assert ENGINE_PW not in text
    assert "Pl4nted%26Engine%2FSecret" not in text  # the URL-encoded form too
    assert "RuntimeError" in text and HIDDEN in text  # the traceback is kept, masked


def test_secret_shapes_are_masked_without_registration(captured):
    logger, lines = captured
    logger.info("applying license %s to vm", WINDOWS_KEY)
    logger.info('{"admin_password": "NotRegistered9", "name": "vps-1042"}')
    logger.info("whmcs call action=GetOrders secret=NotRegistered8 identifier=abc")
    logger.info("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.abc.def")
    text = "\n".join(lines)
    for planted in (WINDOWS_KEY, "NotRegistered9", "NotRegistered8", "eyJhbGciOiJIUzI1NiJ9"):
        assert planted not in text
    # What is not secret stays readable, or the logs would be useless.
    assert "vps-1042" in text and "identifier=abc" in text and "GetOrders" in text


def test_ids_and_dates_are_not_mistaken_for_keys():
    text = "job 123e4567-e89b-12d3-a456-426614174000 since 2026-11-01 on vps-1042"
    assert redact(text) == text


def remove_console_handlers() -> None:
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_vps_console_handler", False)]:
        root.removeHandler(handler)
        handler.close()


def test_log_file_is_private_and_masked_even_when_verbose(tmp_path):
    register_secret("Verbose-Does-Not-Unmask-1")
    path = setup_logging(verbose=3, stderr=False)
    try:
        logging.getLogger("console.test").debug("secret is %s", "Verbose-Does-Not-Unmask-1")
        for handler in logging.getLogger().handlers:
            handler.flush()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        content = path.read_text()
        assert "secret is " + HIDDEN in content
        assert "Verbose-Does-Not-Unmask-1" not in content
    finally:
        remove_console_handlers()


def test_log_files_rotate_and_every_file_stays_private(monkeypatch):
    from console import logs

    monkeypatch.setattr(logs, "MAX_BYTES", 4096)
    monkeypatch.setattr(logs, "BACKUPS", 2)
    path = setup_logging(verbose=1, stderr=False)
    try:
        log = logging.getLogger("console.test")
        for number in range(400):
            log.info("line %04d of a long provisioning day", number)
        for handler in logging.getLogger().handlers:
            handler.flush()
        rotated = sorted(path.parent.glob(path.name + ".*"))
        assert [p.name for p in rotated] == [path.name + ".1", path.name + ".2"]  # 2 kept
        for file in (path, *rotated):
            assert file.stat().st_size <= 4096 + 200
            assert stat.S_IMODE(file.stat().st_mode) == 0o600
        assert "line 0399" in path.read_text()
    finally:
        remove_console_handlers()
