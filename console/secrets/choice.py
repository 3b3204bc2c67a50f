"""Which backend keeps the secrets: chosen here, on purpose, and said why.

Over SSH, keyring's own detection picks the fail backend, or a chained backend that calls
getpass in the middle of the TUI, or a locked desktop keyring that hangs while trying to
unlock. So with `--secrets auto` (the default) the console decides itself, in this order:

1. `PYTHON_KEYRING_BACKEND`, when the user named a real backend (the fail and null
   backends mean "no system keyring here": the Secret Service is then passed over);
2. the Secret Service, only with a D-Bus session whose default collection is already
   unlocked (it is never unlocked from here: that needs a desktop prompt);
3. an older encrypted file of keyrings.cryptfile (`secrets.cfg`), when it is there, the
   new file is not, and its passphrase is given: it keeps working until
   `credentials migrate --to file` moves its secrets;
4. the encrypted file with its owner-only key file (console.secrets.vault), which needs
   nobody; a passphrase, when given, locks the key file.

Memory is never fallen back to silently: only `--secrets memory` asks for it, or a data
folder the console cannot write, and then it says so everywhere (and refuses launches).
`--secrets keyring|file|cryptfile|memory` skips the choice.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

from console.secrets.store import (
    ENV_KEYRING_BACKEND,
    ENV_PASSPHRASE,
    ENV_SECRETS,
    BackendInfo,
    MemorySecretStore,
    SecretStore,
    SecretStoreError,
    SecretStoreLocked,
)

APP_NAME = "vps-console"
KEYRING_FILE_NAME = "secrets.cfg"
# Backends that store nothing: naming them means "there is no system keyring here".
NO_KEYRING_BACKENDS = ("keyring.backends.fail.Keyring", "keyring.backends.null.Keyring")
CRYPTFILE_BACKEND = "keyrings.cryptfile.cryptfile.CryptFileKeyring"
CHOICES = ("auto", "keyring", "file", "cryptfile", "memory")

Prompt = Callable[[], "str | None"]


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME))


def keyring_file_path() -> Path:
    """The older encrypted file of keyrings.cryptfile (passphrase only)."""
    return data_dir() / KEYRING_FILE_NAME


def vault_file_path() -> Path:
    from console.secrets.vault import VAULT_FILE_NAME

    return data_dir() / VAULT_FILE_NAME


def key_file_path() -> Path:
    from console.secrets.vault import KEY_FILE_NAME

    return data_dir() / KEY_FILE_NAME


def _has(path: Path) -> bool:
    return path.exists() and path.stat().st_size > 0


# ---------------------------------------------------------------- system keyrings
def _backend_from_env(rejected: list[str]) -> SecretStore | str | None:
    """The store PYTHON_KEYRING_BACKEND asks for; "cryptfile" when it names that one,
    "off" when it names the fail or null backend."""
    wanted = os.environ.get(ENV_KEYRING_BACKEND, "").strip()
    if not wanted:
        return None
    if wanted in NO_KEYRING_BACKENDS:
        rejected.append(f"system keyring: {ENV_KEYRING_BACKEND}={wanted} turns it off")
        return "off"
    if wanted == CRYPTFILE_BACKEND:
        return "cryptfile"
    import keyring.core

    try:
        backend = keyring.core.load_keyring(wanted)
    except Exception as exc:  # noqa: BLE001 - a named backend fails to load in any way it likes
        raise SecretStoreError(
            f"{ENV_KEYRING_BACKEND}={wanted} cannot be used: {type(exc).__name__}: {exc}",
            f"unset {ENV_KEYRING_BACKEND} to let the console choose, or name an installed "
            "backend, e.g. keyring.backends.SecretService.Keyring",
        ) from None
    return SecretStore(
        backend,
        BackendInfo(
            name=type(backend).__name__,
            persistent=True,
            reason=f"chosen by {ENV_KEYRING_BACKEND}",
            rejected=tuple(rejected),
        ),
    )


def _never_unlocking_secret_service() -> KeyringBackend:
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

        def get_preferred_collection(self) -> secretstorage.Collection:
            bus = secretstorage.dbus_init()
            collection = secretstorage.get_default_collection(bus)
            if collection.is_locked():
                raise KeyringLocked(
                    "the desktop keyring got locked; unlock it on the desktop "
                    "(it is never unlocked over SSH)"
                )
            return collection

    # keyring leaves its backends' __init__ unannotated.
    return NeverUnlockingSecretService()  # type: ignore[no-untyped-call]


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
                rejected.append(
                    "Secret Service: the default collection is locked (never "
                    "unlocked from here; unlock it on the desktop)"
                )
                return None
    except Exception as exc:  # noqa: BLE001 - no daemon, no collection, dbus errors: all mean "not here"
        rejected.append(f"Secret Service: {type(exc).__name__}: {exc}")
        return None
    return SecretStore(
        _never_unlocking_secret_service(),
        BackendInfo(
            name="Secret Service (desktop keyring)",
            persistent=True,
            reason="D-Bus session with an unlocked default collection",
            rejected=tuple(rejected),
        ),
    )


# ------------------------------------------------------------------------- files
def _cryptfile(passphrase: str, rejected: list[str], why: str) -> SecretStore:
    """The older encrypted file (keyrings.cryptfile): an Argon2 derivation per entry read,
    so every value is cached after its first read."""
    from keyrings.cryptfile.cryptfile import CryptFileKeyring

    from console.secrets.vault import private_dir

    path = keyring_file_path()
    backend = CryptFileKeyring()
    # Set at instance level before the key: setting keyring_key opens (or creates) the file.
    backend.file_path = str(path)
    existed = _has(path)
    if not existed:
        private_dir(path.parent)
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        os.chmod(path, 0o600)
    try:
        backend.keyring_key = passphrase
    except ValueError:
        # keyrings.cryptfile raises ValueError("MAC check failed") for a wrong passphrase
        raise SecretStoreLocked(
            f"the passphrase does not open the encrypted secrets file {path}",
            f"check {ENV_PASSPHRASE} (or what you typed); if the passphrase is lost, move the "
            "file away and store the credentials again with `vps-console credentials set`",
        ) from None
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    return SecretStore(
        backend,
        BackendInfo(
            name="encrypted file (keyrings.cryptfile)",
            persistent=True,
            path=str(path),
            protection="passphrase",
            reason=why + ("" if existed else "; created now"),
            rejected=tuple(rejected),
        ),
    )


def _file(passphrase: str | None, rejected: list[str], why: str) -> SecretStore:
    from console.secrets.vault import open_vault_store

    return open_vault_store(data_dir(), passphrase, why, tuple(rejected))


def _cannot_write(error: OSError, rejected: list[str]) -> MemorySecretStore:
    """The last resort, loud: nothing can be kept, and every launch will be refused."""
    folder = data_dir()
    rejected.append(f"encrypted file: cannot write {folder}: {error.strerror or error}")
    return MemorySecretStore(
        BackendInfo(
            name="memory",
            persistent=False,
            explicit=False,
            rejected=tuple(rejected),
            reason=f"the encrypted file cannot be kept in {folder} ({error.strerror or error})",
            fix=f"make {folder} a folder you can write (or point XDG_DATA_HOME at one), then "
            "check with `vps-console doctor`",
        )
    )


def _passphrase(prompt: Prompt | None, *, needed: bool) -> tuple[str | None, str]:
    given = os.environ.get(ENV_PASSPHRASE)
    if given and given.strip():
        return given, f"passphrase from {ENV_PASSPHRASE}"
    if needed and prompt is not None:
        typed = prompt()
        if typed and typed.strip():
            return typed, "passphrase entered"
    return None, ""


def _key_file_is_locked() -> bool:
    try:
        record = json.loads(key_file_path().read_bytes())
        return bool(record.get("protection") == "passphrase")
    except (OSError, ValueError, AttributeError):
        return False  # missing or unreadable: the vault says what is wrong when it opens


def open_secret_store(
    choice: str | None = None, *, passphrase_prompt: Prompt | None = None
) -> SecretStore:
    """The secret store for this process, chosen as the module docstring says.

    `choice` is one of CHOICES (default: $VPS_CONSOLE_SECRETS, else "auto").
    `passphrase_prompt` is asked only when a file needs a passphrase that
    VPS_CONSOLE_KEYRING_PASSPHRASE does not give.
    """
    choice = (choice or os.environ.get(ENV_SECRETS) or "auto").strip().lower()
    if choice not in CHOICES:
        raise SecretStoreError(
            f"--secrets {choice}: not a secrets backend", f"use one of: {', '.join(CHOICES)}"
        )
    rejected: list[str] = []
    if choice == "memory":
        return MemorySecretStore(
            BackendInfo(
                name="memory",
                persistent=False,
                reason="--secrets memory: this session only",
                fix="drop `--secrets memory` (and VPS_CONSOLE_SECRETS=memory) to keep them in "
                "the encrypted file",
            )
        )
    if choice in ("auto", "keyring"):
        chosen = _backend_from_env(rejected)
        if isinstance(chosen, SecretStore):
            return chosen
        if chosen is None:
            service = _secret_service(rejected)
            if service is not None:
                return service
        if choice == "keyring":
            raise SecretStoreError(
                "no usable system keyring: " + "; ".join(rejected),
                "use the encrypted file (--secrets file, the default on "
                "a host without a desktop keyring)",
            )
        system = "no usable system keyring"
        if chosen == "cryptfile":
            choice, system = "cryptfile", f"chosen by {ENV_KEYRING_BACKEND}"
    else:
        system = f"--secrets {choice}"
    legacy = _has(keyring_file_path())
    if choice == "cryptfile" or (choice == "auto" and legacy and not _has(vault_file_path())):
        passphrase, source = _passphrase(passphrase_prompt, needed=True)
        if passphrase:
            return _cryptfile(passphrase, rejected, f"{system}; {source}")
        if choice == "cryptfile":
            raise SecretStoreLocked(
                f"{keyring_file_path()} needs its passphrase",
                f"set {ENV_PASSPHRASE} (or run in a terminal)",
            )
    if legacy:
        rejected.append(
            f"older encrypted file {keyring_file_path()} is still there: move what "
            f"it holds with `vps-console --secrets cryptfile credentials migrate "
            f"--to file` (with its passphrase in {ENV_PASSPHRASE}), then remove it"
        )
    passphrase, source = _passphrase(passphrase_prompt, needed=_key_file_is_locked())
    try:
        return _file(passphrase, rejected, system + (f"; {source}" if source else ""))
    except OSError as error:
        if choice == "file":
            raise SecretStoreError(
                f"--secrets file: cannot keep the encrypted file in "
                f"{data_dir()}: {error.strerror or error}",
                f"make {data_dir()} a folder you can write (or point XDG_DATA_HOME at one)",
            ) from None
        return _cannot_write(error, rejected)


def terminal_passphrase_prompt() -> str:
    """The CLI's passphrase prompt: hidden, on the terminal, and only when there is one.

    Without a terminal (scripts, CI) it returns "" rather than blocking on stdin, which
    may be carrying a secret for `credentials set --stdin`.
    """
    import click

    if not sys.stdin.isatty():
        return ""
    locked = key_file_path() if _key_file_is_locked() else keyring_file_path()
    return click.prompt(f"Passphrase for {locked}", hide_input=True, err=True)
