"""Where the console keeps secrets, chosen on purpose rather than by keyring's auto-detection.

Over SSH, keyring's own detection picks the fail backend, or a chained backend that calls
getpass in the middle of the TUI, or a locked desktop keyring that hangs while trying to
unlock. So `open_secret_store` decides itself, in this order, and says why:

1. `PYTHON_KEYRING_BACKEND`, when the user named a real backend (the fail and null
   backends mean "no system keyring here": the Secret Service is then passed over and
   the choice goes on with the encrypted file);
2. the Secret Service, only with a D-Bus session whose default collection is already
   unlocked (it is never unlocked from here: that needs a desktop prompt);
3. an encrypted file (keyrings.cryptfile: Argon2 + AES-GCM) in the user data dir, mode
   0600, opened with a master passphrase from VPS_CONSOLE_KEYRING_PASSPHRASE or asked by
   the caller's own prompt (a hidden prompt on the terminal, before the console opens);
4. memory, for this session only.

Secret names: `engine:<name>`, `billing:secret`, `license:<order_id>:<kind>`,
`admin-password:<order_id>`. Keyring cannot list entries, so an index entry keeps the names.
Every value read or written is registered with console.redaction, so logs mask it.
"""

from __future__ import annotations

import json
import os
import re
import secrets as _random
import stat
import string
import sys
import threading
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from console.errors import BadInput, ConsoleError
from console.redaction import LICENSE_KEY, register_secret

APP_NAME = "vps-console"
SERVICE = "vps-console"
INDEX_ENTRY = "_index"
KEYRING_FILE_NAME = "secrets.cfg"

ENV_PASSPHRASE = "VPS_CONSOLE_KEYRING_PASSPHRASE"
ENV_ENGINE_PASSWORD = "VPS_CONSOLE_ENGINE_PASSWORD"
ENV_BILLING_SECRET = "VPS_CONSOLE_BILLING_SECRET"
ENV_KEYRING_BACKEND = "PYTHON_KEYRING_BACKEND"

# Backends that store nothing: naming them means "there is no system keyring here".
NO_KEYRING_BACKENDS = ("keyring.backends.fail.Keyring", "keyring.backends.null.Keyring")
CRYPTFILE_BACKEND = "keyrings.cryptfile.cryptfile.CryptFileKeyring"

LICENSE_KINDS = ("windows", "mssql", "plesk", "cpanel")
BILLING_SECRET = "billing:secret"
_NAME = re.compile(r"^(engine:[A-Za-z0-9][A-Za-z0-9_.-]*"
                   r"|billing:secret"
                   r"|license:[A-Za-z0-9_.-]+:(?:" + "|".join(LICENSE_KINDS) + r")"
                   r"|admin-password:[A-Za-z0-9_.-]+)$")


class SecretStoreError(ConsoleError):
    """The secret store cannot do what was asked; the hint says how to fix it."""


class SecretStoreLocked(SecretStoreError):
    """The encrypted file exists but the passphrase given does not open it."""


# ------------------------------------------------------------------------- names
def engine_secret(engine_name: str) -> str:
    return f"engine:{engine_name}"


def license_secret(order_id: str | int, kind: str) -> str:
    return f"license:{order_id}:{kind}"


def admin_password_secret(order_id: str | int) -> str:
    return f"admin-password:{order_id}"


def check_name(name: str) -> str:
    if not _NAME.match(name or ""):
        raise BadInput(f"{name!r} is not a secret name the console uses",
                       "use engine:NAME, billing:secret, license:ORDER:KIND (KIND one of "
                       f"{', '.join(LICENSE_KINDS)}) or admin-password:ORDER")
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

    def status_line(self) -> str:
        where = f" {self.path}" if self.path else ""
        saved = "" if self.persistent else ", not saved"
        return f"Secrets: {self.name}{where}{saved} ({self.reason})"


class SecretStore:
    """Named secrets in one keyring backend, with an index so they can be listed.

    Values read once are kept in memory for the life of the store: the encrypted file
    costs about half a second per read (Argon2), and a provisioning reads several.
    """

    def __init__(self, backend, info: BackendInfo):
        self._backend = backend
        self._info = info
        self._cache: dict[str, str | None] = {}
        self._lock = threading.RLock()

    # The four storage primitives; MemorySecretStore replaces them.
    def _read(self, name: str) -> str | None:
        return self._backend.get_password(SERVICE, name)

    def _write(self, name: str, value: str) -> None:
        self._backend.set_password(SERVICE, name, value)

    def _remove(self, name: str) -> None:
        from keyring.errors import PasswordDeleteError

        try:
            self._backend.delete_password(SERVICE, name)
        except PasswordDeleteError:
            pass  # already gone: deleting is idempotent

    def _guarded(self, what: str, action: Callable):
        try:
            return action()
        except ConsoleError:
            raise
        except Exception as exc:  # keyring backends raise anything from RuntimeError to dbus errors
            raise SecretStoreError(
                f"the secret store ({self._info.name}) failed to {what}: "
                f"{type(exc).__name__}: {exc}",
                "run `vps-console doctor` to see which backend is in use; set "
                f"{ENV_KEYRING_BACKEND}=keyring.backends.null.Keyring to use the encrypted "
                "file instead of a misbehaving system keyring") from None

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

    def set(self, name: str, value: str) -> None:
        check_name(name)
        if not value:
            raise BadInput(f"refusing to store an empty value for {name}",
                           f"to remove it, run `vps-console credentials delete` for {name}")
        register_secret(value)
        with self._lock:
            self._guarded(f"save {name}", lambda: self._write(name, value))
            self._cache[name] = value
            names = self._index()
            if name not in names:
                self._save_index(sorted(names + [name]))

    def delete(self, name: str) -> None:
        check_name(name)
        with self._lock:
            self._guarded(f"delete {name}", lambda: self._remove(name))
            self._cache[name] = None
            names = self._index()
            if name in names:
                self._save_index([n for n in names if n != name])

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
    """Secrets for this process only: tests, demos, and the last-resort fallback."""

    def __init__(self, info: BackendInfo | None = None,
                 initial: dict[str, str] | None = None):
        super().__init__(None, info or BackendInfo(
            name="memory", persistent=False, reason="this session only"))
        self._values: dict[str, str] = {}
        for name, value in (initial or {}).items():
            self.set(name, value)

    def _read(self, name: str) -> str | None:
        return self._values.get(name)

    def _write(self, name: str, value: str) -> None:
        self._values[name] = value

    def _remove(self, name: str) -> None:
        self._values.pop(name, None)


# ------------------------------------------------------------------ backend choice
def keyring_file_path() -> Path:
    """The encrypted secrets file (it exists once a passphrase has been set)."""
    return Path(platformdirs.user_data_dir(APP_NAME)) / KEYRING_FILE_NAME


NO_SYSTEM_KEYRING = "no-system-keyring"


def _backend_from_env(rejected: list[str]) -> SecretStore | None | str:
    """The store PYTHON_KEYRING_BACKEND asks for; "cryptfile" when it names ours,
    NO_SYSTEM_KEYRING when it names the fail or null backend."""
    wanted = os.environ.get(ENV_KEYRING_BACKEND, "").strip()
    if not wanted:
        return None
    if wanted in NO_KEYRING_BACKENDS:
        rejected.append(f"system keyring: {ENV_KEYRING_BACKEND}={wanted} turns it off")
        return NO_SYSTEM_KEYRING
    if wanted == CRYPTFILE_BACKEND:
        return "cryptfile"
    import keyring.core

    try:
        backend = keyring.core.load_keyring(wanted)
    except Exception as exc:
        raise SecretStoreError(
            f"{ENV_KEYRING_BACKEND}={wanted} cannot be used: {type(exc).__name__}: {exc}",
            f"unset {ENV_KEYRING_BACKEND} to let the console choose, or name an installed "
            "backend, e.g. keyring.backends.SecretService.Keyring") from None
    return SecretStore(backend, BackendInfo(
        name=type(backend).__name__, persistent=True,
        reason=f"chosen by {ENV_KEYRING_BACKEND}", rejected=tuple(rejected)))


def _never_unlocking_secret_service():
    """keyring's SecretService backend, except that it refuses a locked collection.

    keyring calls collection.unlock(), which needs a desktop prompt: over SSH it hangs. If
    the collection is locked again after we chose it (screen lock), fail instead.
    """
    import secretstorage
    from keyring.backends import SecretService
    from keyring.compat import properties
    from keyring.errors import KeyringLocked

    class NeverUnlockingSecretService(SecretService.Keyring):
        @properties.classproperty
        def priority(cls) -> float:
            # Not viable for keyring's own detection: used only when chosen here.
            raise RuntimeError("used only when chosen explicitly by vps-console")

        def get_preferred_collection(self):
            bus = secretstorage.dbus_init()
            collection = secretstorage.get_default_collection(bus)
            if collection.is_locked():
                raise KeyringLocked("the desktop keyring got locked; unlock it on the desktop "
                                    "(it is never unlocked over SSH)")
            return collection

    return NeverUnlockingSecretService()


def _secret_service(rejected: list[str]) -> SecretStore | None:
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        rejected.append("Secret Service: no D-Bus session (usual over SSH)")
        return None
    try:
        import secretstorage
        from keyring.backends import SecretService

        SecretService.Keyring.priority  # noqa: B018 - raises RuntimeError when unusable
        with closing(secretstorage.dbus_init()) as bus:
            if secretstorage.get_default_collection(bus).is_locked():
                rejected.append("Secret Service: the default collection is locked (never "
                                "unlocked from here; unlock it on the desktop)")
                return None
    except Exception as exc:  # no daemon, no collection, dbus errors: all mean "not here"
        rejected.append(f"Secret Service: {type(exc).__name__}: {exc}")
        return None
    return SecretStore(_never_unlocking_secret_service(), BackendInfo(
        name="Secret Service (desktop keyring)", persistent=True,
        reason="D-Bus session with an unlocked default collection", rejected=tuple(rejected)))


def _private_file(path: Path) -> None:
    """Create the folder (0700) and file (0600) before the keyring writes anything."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    os.chmod(path, 0o600)


def _encrypted_file(passphrase: str, rejected: list[str], why: str) -> SecretStore:
    from keyrings.cryptfile.cryptfile import CryptFileKeyring

    path = keyring_file_path()
    backend = CryptFileKeyring()
    # Set at instance level before the key: setting keyring_key opens (or creates) the file.
    backend.file_path = str(path)
    existed = path.exists() and path.stat().st_size > 0
    if not existed:
        _private_file(path)
    try:
        backend.keyring_key = passphrase
    except ValueError:
        # keyrings.cryptfile raises ValueError("MAC check failed") for a wrong passphrase
        raise SecretStoreLocked(
            f"the passphrase does not open the encrypted secrets file {path}",
            f"check {ENV_PASSPHRASE} (or what you typed); if the passphrase is lost, move the "
            "file away and store the credentials again with `vps-console credentials set`"
        ) from None
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    return SecretStore(backend, BackendInfo(
        name="encrypted file", persistent=True, path=str(path),
        reason=why + ("" if existed else "; created now"), rejected=tuple(rejected)))


def open_secret_store(*, passphrase_prompt: Callable[[], str | None] | None = None
                      ) -> SecretStore:
    """The secret store for this session, chosen as the module docstring says.

    `passphrase_prompt` is called only when the encrypted file is the choice and
    VPS_CONSOLE_KEYRING_PASSPHRASE is not set; returning "" or None means "not now",
    which leaves a memory store for this session.
    """
    rejected: list[str] = []
    chosen = _backend_from_env(rejected)
    if isinstance(chosen, SecretStore):
        return chosen
    if chosen is None:
        service = _secret_service(rejected)
        if service is not None:
            return service
    passphrase = os.environ.get(ENV_PASSPHRASE)
    source = f"passphrase from {ENV_PASSPHRASE}"
    if not passphrase and passphrase_prompt is not None:
        passphrase = passphrase_prompt()
        source = "passphrase entered"
    if passphrase and passphrase.strip():
        why = ("no usable system keyring; " if chosen in (None, NO_SYSTEM_KEYRING)
               else f"chosen by {ENV_KEYRING_BACKEND}; ") + source
        return _encrypted_file(passphrase, rejected, why)
    rejected.append(f"encrypted file: no passphrase ({ENV_PASSPHRASE} unset, none entered)")
    return MemorySecretStore(BackendInfo(
        name="memory", persistent=False,
        reason=f"no system keyring and no passphrase; set {ENV_PASSPHRASE} or enter one to "
               "keep secrets", rejected=tuple(rejected)))


def terminal_passphrase_prompt() -> str:
    """The CLI's passphrase prompt: hidden, on the terminal, and only when there is one.

    Without a terminal (scripts, CI) it returns "" rather than blocking on stdin, which
    may be carrying a secret for `credentials set --stdin`.
    """
    import click

    if not sys.stdin.isatty():
        return ""
    path = keyring_file_path()
    if path.exists() and path.stat().st_size > 0:
        return click.prompt(f"Passphrase for {path}", hide_input=True, err=True)
    click.echo(f"Secrets will be kept in an encrypted file, {path}.", err=True)
    return click.prompt("Choose a passphrase for it", hide_input=True,
                        confirmation_prompt=True, err=True)


# -------------------------------------------------------- engine and billing secrets
def engine_env_variable(engine_name: str) -> str:
    return "VPS_CONSOLE_ENGINE_" + re.sub(r"[^A-Z0-9]", "_", engine_name.upper()) + "_PASSWORD"


def engine_password(store: SecretStore | None, engine_name: str, engine_count: int = 1
                    ) -> str | None:
    """The engine's password: keyring first, then VPS_CONSOLE_ENGINE_<NAME>_PASSWORD, then
    (with a single engine configured) VPS_CONSOLE_ENGINE_PASSWORD."""
    value = store.get(engine_secret(engine_name)) if store is not None else None
    if not value:
        value = os.environ.get(engine_env_variable(engine_name))
    if not value and engine_count <= 1:
        value = os.environ.get(ENV_ENGINE_PASSWORD)
    register_secret(value)
    return value or None


def billing_secret(store: SecretStore | None) -> str | None:
    """The WHMCS API secret: keyring first, then VPS_CONSOLE_BILLING_SECRET."""
    value = store.get(BILLING_SECRET) if store is not None else None
    if not value:
        value = os.environ.get(ENV_BILLING_SECRET)
    register_secret(value)
    return value or None


# ------------------------------------------------------------------ masking, making
def mask(value: str | None) -> str:
    """A form safe to show and store: `…-7XK2Q` for license keys, `…a1B2` for the rest.

    Short values are hidden entirely: their last characters would be most of them.
    """
    if not value:
        return ""
    if LICENSE_KEY.fullmatch(value):  # groups of 4–6: the tail is one group of 4+
        return "…-" + value.rsplit("-", 1)[1]
    if len(value) < 8:
        return "••••"
    if len(value) < 16:
        return "…" + value[-2:]
    return "…" + value[-4:]


# No quotes, backslash, space, `$`, `<>&` or `!`: the password travels through cloud-init
# YAML, sysprep XML, shells and e-mails. No 0/O, 1/l/I: it may be read out over the phone.
PASSWORD_SYMBOLS = "%+-.=@_#"
_UPPER = "".join(c for c in string.ascii_uppercase if c not in "OI")
_LOWER = "".join(c for c in string.ascii_lowercase if c not in "l")
_DIGITS = "23456789"


def generate_password(length: int = 20) -> str:
    """A random password meeting Linux and Windows complexity rules (all four classes)."""
    if length < 12:
        raise ValueError("a generated password needs at least 12 characters")
    classes = (_UPPER, _LOWER, _DIGITS, PASSWORD_SYMBOLS)
    alphabet = "".join(classes)
    while True:
        candidate = "".join(_random.choice(alphabet) for _ in range(length))
        # Symbols at the ends get lost in copy-paste and some shells; require the classes.
        if candidate[0] in PASSWORD_SYMBOLS or candidate[-1] in PASSWORD_SYMBOLS:
            continue
        if all(any(c in group for c in candidate) for group in classes):
            register_secret(candidate)
            return candidate
