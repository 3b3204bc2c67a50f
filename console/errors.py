"""The base of every error the console explains to its user.

Each layer raises its own subclasses (engine, billing, store, input); the CLI and the TUI
print `message` and `hint` the same way and never show a traceback for them.
"""

from __future__ import annotations


class ConsoleError(Exception):
    exit_code = 1

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\nhint: {self.hint}"


class BadInput(ConsoleError):
    """Something the user typed or supplied is wrong; exit code 2 like a usage error."""

    exit_code = 2
