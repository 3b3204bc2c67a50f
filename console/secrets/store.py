"""Named secrets in one backend: the names the console uses, what a backend says about
itself, and the store every caller talks to (whatever keeps the values underneath)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from console.errors import BadInput, ConsoleError
from console.redaction import register_secret

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

_T = TypeVar("_T")

SERVICE = "vps-console"
INDEX_ENTRY = "_index"
ENV_PASSPHRASE = "VPS_CONSOLE_KEYRING_PASSPHRASE"
ENV_KEYRING_BACKEND = "PYTHON_KEYRING_BACKEND"
ENV_SECRETS = "VPS_CONSOLE_SECRETS"

LICENSE_KINDS = ("windows", "mssql", "plesk", "cpanel")
BILLING_SECRET = "billing:secret"
_KINDS = "|".join(LICENSE_KINDS)
_NAME = re.compile(
    r"^(engine:[A-Za-z0-9][A-Za-z0-9_.-]*"
    r"|billing:secret"
    r"|license:[A-Za-z0-9_.-]+:(?:" + _KINDS + r")"
    r"|admin-password:[A-Za-z0-9_.-]+"
    # A launch's secrets before its job row exists (console.flow.job_secrets).
    r"|job:[A-Za-z0-9_.-]+:(?:admin-password|license:(?:" + _KINDS + r")))$"
)


class SecretStoreError(ConsoleError):
    """The secret store cannot do what was asked; the hint says how to fix it."""


class SecretStoreLocked(SecretStoreError):
    """The encrypted file exists but the passphrase given does not open it."""


class SecretsNotKept(SecretStoreError):
    """A job would be launched whose secrets die with this process: refused like bad input."""

    exit_code = 2


# ------------------------------------------------------------------------- names
def engine_secret(engine_name: str) -> str:
    return f"engine:{engine_name}"


def license_secret(order_id: str | int, kind: str) -> str:
    return f"license:{order_id}:{kind}"


def admin_password_secret(order_id: str | int) -> str:
    return f"admin-password:{order_id}"


def check_name(name: str) -> str:
    if not _NAME.match(name or ""):
        raise BadInput(
            f"{name!r} is not a secret name the console uses",
            "use engine:NAME, billing:secret, license:ORDER:KIND (KIND one of "
            f"{', '.join(LICENSE_KINDS)}) or admin-password:ORDER",
        )
    return name


# ----------------------------------------------------------------------- backend
@dataclass(frozen=True)
class BackendInfo:
    """Which backend holds the secrets, whether they outlive this process, and why."""

    name: str
    persistent: bool
    reason: str
    path: str | None = None
    # Each backend passed over on the way, with the reason (for `doctor`).
    rejected: tuple[str, ...] = field(default=())
    # How the file's key is protected ("key file", "passphrase"), for the header.
    protection: str | None = None
    # Chosen on purpose (`--secrets memory`, a test, the demo) rather than fallen back to.
    explicit: bool = True
    key_path: str | None = None
    # What to do so the secrets are kept (for a store that does not keep them).
    fix: str | None = None

    @property
    def label(self) -> str:
        """Short, for the header: `encrypted file (key file)`, `memory`."""
        return self.name + (f" ({self.protection})" if self.protection else "")

    def status_line(self) -> str:
        where = f" {self.path}" if self.path else ""
        key = f", key in {self.key_path} ({self.protection})" if self.key_path else ""
        saved = "" if self.persistent else ", NOT SAVED: lost when this process ends"
        return f"Secrets: {self.name}{where}{key}{saved} ({self.reason})"


def require_kept(store: SecretStore, *, resumed_elsewhere: bool = False) -> None:
    """Refuse to launch a job that could not be resumed after a crash.

    A store that fell back to memory (nothing could persist) is always refused. One chosen
    on purpose (`--secrets memory`) is refused only when another process must run the job
    (`provision --no-wait`): that process would find no secrets at all.
    """
    info = store.describe()
    if info.persistent or (info.explicit and not resumed_elsewhere):
        return
    why = (
        "the job would be run later by `jobs resume`, in another process"
        if resumed_elsewhere
        else "a crash would leave a job that cannot be resumed"
    )
    raise SecretsNotKept(
        f"refusing to launch: the job's secrets would be kept in {info.name} only, which "
        f"does not outlive this process ({info.reason}); {why}",
        info.fix
        or "use a store that keeps them: drop `--secrets memory` (the default is the "
        "encrypted file in the user data dir), or see `vps-console doctor`",
    )


class SecretStore:
    """Named secrets in one keyring backend, with an index so they can be listed.

    Values read once are kept in memory for the life of the store: a keyring backend may
    cost a D-Bus round trip or a key derivation per read, and a provisioning reads several.
    """

    def __init__(self, backend: KeyringBackend | None, info: BackendInfo):
        self._backend = backend
        self._info = info
        self._cache: dict[str, str | None] = {}
        self._lock = threading.RLock()

    # The storage primitives; MemorySecretStore and the encrypted file replace them.
    @property
    def _keyring(self) -> KeyringBackend:
        # Only the keyring store has a backend; the others replace every primitive below.
        assert self._backend is not None, "a store without a keyring backend reached it"
        return self._backend

    def _read(self, name: str) -> str | None:
        return self._keyring.get_password(SERVICE, name)

    def _write(self, name: str, value: str) -> None:
        self._keyring.set_password(SERVICE, name, value)

    def _remove(self, name: str) -> None:
        from keyring.errors import PasswordDeleteError

        try:
            self._keyring.delete_password(SERVICE, name)
        except PasswordDeleteError:
            pass  # already gone: deleting is idempotent

    def _read_fresh(self, name: str) -> str | None:
        """Read from where the backend keeps it, past any copy of its own."""
        return self._read(name)

    def _write_many(self, values: Mapping[str, str], remove: tuple[str, ...]) -> None:
        """Several changes; a backend that can make them in one atomic write does."""
        for name, value in values.items():
            self._write(name, value)
        for name in remove:
            self._remove(name)

    def _guarded(self, what: str, action: Callable[[], _T]) -> _T:
        try:
            return action()
        except ConsoleError:
            raise
        except Exception as exc:  # noqa: BLE001 - keyring backends raise anything from RuntimeError to dbus errors
            raise SecretStoreError(
                f"the secret store ({self._info.name}) failed to {what}: "
                f"{type(exc).__name__}: {exc}",
                "run `vps-console doctor` to see which backend is in use; "
                "`--secrets file` (or VPS_CONSOLE_SECRETS=file) uses the encrypted file "
                "instead of a misbehaving system keyring",
            ) from None

    def _cached_read(self, name: str) -> str | None:
        if name not in self._cache:
            self._cache[name] = self._guarded(f"read {name}", lambda: self._read(name))
        return self._cache[name]

    def get(self, name: str) -> str | None:
        check_name(name)
        with self._lock:
            value = self._cached_read(name)
        register_secret(value)
        return value

    def read_back(self, name: str) -> str | None:
        """The value as the backend holds it now, past this process's cache: the proof
        that a write reached it."""
        check_name(name)
        with self._lock:
            value = self._guarded(f"read {name}", lambda: self._read_fresh(name))
            self._cache[name] = value
        register_secret(value)
        return value

    def set(self, name: str, value: str) -> None:
        self.update({name: value})

    def update(self, values: Mapping[str, str], remove: tuple[str, ...] = ()) -> None:
        """Store `values` and delete `remove`, in one write where the backend allows."""
        for name in (*values, *remove):
            check_name(name)
        for name, value in values.items():
            if not value:
                raise BadInput(
                    f"refusing to store an empty value for {name}",
                    f"to remove it, run `vps-console credentials delete` for {name}",
                )
            register_secret(value)
        what = ", ".join((*values, *remove))
        with self._lock:
            self._guarded(f"save {what}", lambda: self._write_many(values, tuple(remove)))
            self._cache.update(values)
            self._cache.update(dict.fromkeys(remove))
            names = self._index()
            wanted = sorted((set(names) | set(values)) - set(remove))
            if wanted != sorted(names):
                self._save_index(wanted)

    def delete(self, name: str) -> None:
        self.update({}, (name,))

    def names(self) -> list[str]:
        with self._lock:
            return list(self._index())

    def describe(self) -> BackendInfo:
        return self._info

    def _index(self) -> list[str]:
        raw = self._cached_read(INDEX_ENTRY)
        if not raw:
            return []
        try:
            names = json.loads(raw)
        except ValueError:
            return []  # a damaged index only loses the listing, never a secret
        return [n for n in names if isinstance(n, str)]

    def _save_index(self, names: list[str]) -> None:
        text = json.dumps(names)
        self._guarded("save the index of names", lambda: self._write(INDEX_ENTRY, text))
        self._cache[INDEX_ENTRY] = text


class MemorySecretStore(SecretStore):
    """Secrets for this process only: tests, the demo, and `--secrets memory`."""

    def __init__(self, info: BackendInfo | None = None, initial: dict[str, str] | None = None):
        super().__init__(
            None, info or BackendInfo(name="memory", persistent=False, reason="this session only")
        )
        self._values: dict[str, str] = {}
        if initial:
            self.update(initial)

    def _read(self, name: str) -> str | None:
        return self._values.get(name)

    def _write(self, name: str, value: str) -> None:
        self._values[name] = value

    def _remove(self, name: str) -> None:
        self._values.pop(name, None)
