"""The secret store of one CLI run, opened once and shared by the subcommands that need it."""

from __future__ import annotations

from console.secrets import SecretStore, open_secret_store, terminal_passphrase_prompt


def cli_secret_store(ctx) -> SecretStore:
    """The store for this run: the CLI context's own (`ctx.secrets`, which honours
    `--secrets`) when it has one, else opened here and kept on the context."""
    existing = getattr(ctx, "secrets", None) or getattr(ctx, "_secret_store", None)
    if existing is not None:
        return existing
    store = open_secret_store(
        getattr(ctx, "secrets_choice", None), passphrase_prompt=terminal_passphrase_prompt
    )
    ctx._secret_store = store
    return store
