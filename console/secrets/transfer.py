"""Moving secrets from one backend to another (`vps-console credentials migrate`)."""

from __future__ import annotations

from console.secrets.store import SecretStore, SecretStoreError


def move_secrets(
    source: SecretStore, target: SecretStore, *, keep_source: bool = False
) -> list[str]:
    """Copy every secret of `source` into `target`, read each back from `target`, and only
    then delete it from `source` (unless `keep_source`). Returns the names moved.

    A crash at any point leaves each secret in one backend at least: copied before it is
    deleted, and deleted only once the copy was read back.
    """
    if (source.describe().name, source.describe().path) == (
        target.describe().name,
        target.describe().path,
    ):
        raise SecretStoreError(
            f"the secrets are already in {target.describe().name}",
            "name another backend with --to (file, keyring, cryptfile)",
        )
    values = {}
    for name in source.names():
        value = source.get(name)
        if value:
            values[name] = value
    if not values:
        return []
    target.update(values)
    wrong = [name for name, value in values.items() if target.read_back(name) != value]
    if wrong:
        raise SecretStoreError(
            f"{target.describe().name} did not keep {', '.join(wrong)}; "
            f"nothing was removed from {source.describe().name}",
            "run `vps-console doctor` to see what is wrong with it",
        )
    if not keep_source:
        source.update({}, tuple(values))
    return sorted(values)
