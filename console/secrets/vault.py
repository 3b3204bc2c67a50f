"""The encrypted secrets file and its key file: the store that needs nobody.

On a headless host (no desktop keyring, no passphrase, no terminal) secrets must still
outlive the process, or a job killed after its launch can never finish. So, as ssh, gh and
docker do, the key sits in a file only its owner can read, beside the data:

- `secrets.key` (0600): a random 256-bit data key, either as it is (protection "key file")
  or wrapped with a key derived from a passphrase (protection "passphrase": then the key
  file holds nothing usable without it);
- `secrets.enc` (0600): every secret in one JSON object, encrypted with the data key
  (AES-256-GCM, a fresh 96-bit nonce per write, the format version as associated data).

The passphrase key is derived with Argon2id, t=3 passes, m=64 MiB, p=4 lanes (RFC 9106's
second recommended option, for machines where 2 GiB per derivation is too much): about half
a second on a small VM, paid once per process when the store is opened, never per read.

Every change is one atomic replace (write a temporary file, fsync, rename, fsync the
folder) under an exclusive lock on `secrets.lock`, re-reading the file first, so that
processes writing at once lose nothing and a kill -9 mid-write leaves the old file whole.
Reads need no lock (a rename is atomic); the decrypted content is kept until the file
changes on disk (its inode, size and mtime), so a read costs a stat.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import secrets as _random
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from console.secrets.store import (
    ENV_PASSPHRASE,
    BackendInfo,
    SecretStore,
    SecretStoreError,
    SecretStoreLocked,
)

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_FILE_NAME = "secrets.key"
VAULT_FILE_NAME = "secrets.enc"
LOCK_FILE_NAME = "secrets.lock"
FORMAT = 1
_AAD = b"vps-console secrets v1"
_KEY_AAD = b"vps-console secrets key v1"
ARGON2 = {"iterations": 3, "memory_kib": 65536, "lanes": 4}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"))


def _key_id(key: bytes) -> str:
    return hashlib.sha256(b"key id" + key).hexdigest()[:16]


def derive(passphrase: str, salt: bytes, params: Mapping[str, int] = ARGON2) -> bytes:
    from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

    return Argon2id(
        salt=salt,
        length=32,
        iterations=params["iterations"],
        lanes=params["lanes"],
        memory_cost=params["memory_kib"],
    ).derive(passphrase.encode("utf-8"))


def _aes(key: bytes) -> AESGCM:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(key)


def private_dir(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(folder, 0o700)


def write_private(path: Path, data: bytes) -> None:
    """Replace `path` with `data` atomically, mode 0600 from the first byte (umask or not)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{_random.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


class Vault:
    """The two files, opened once: the data key is found (or made) here and kept."""

    def __init__(self, folder: Path, passphrase: str | None = None):
        self.folder = folder
        self.key_path = folder / KEY_FILE_NAME
        self.path = folder / VAULT_FILE_NAME
        self.lock_path = folder / LOCK_FILE_NAME
        self._thread_lock = threading.RLock()
        self._seen: tuple[int, int, int] | None = None
        self._entries: dict[str, str] = {}
        private_dir(folder)
        with self._locked():
            self.created = not self.key_path.exists()
            if self.created:
                self._key = _random.token_bytes(32)
                self._save_key(self._key, None)
            self._key, self.protection = self._open_key(passphrase)
            self.upgraded = False
            if passphrase and self.protection == "key file":
                # A passphrase given upgrades the plain key file: from now on it is needed.
                self._save_key(self._key, passphrase)
                self.protection, self.upgraded = "passphrase", True
            self._load()

    # ------------------------------------------------------------------ the key
    def _save_key(self, key: bytes, passphrase: str | None) -> None:
        record: dict[str, Any] = {"format": FORMAT, "key_id": _key_id(key)}
        if passphrase:
            salt, nonce = _random.token_bytes(16), _random.token_bytes(12)
            wrapping = derive(passphrase, salt)
            record.update(
                protection="passphrase",
                kdf={"name": "argon2id", "salt": _b64(salt), **ARGON2},
                nonce=_b64(nonce),
                wrapped=_b64(_aes(wrapping).encrypt(nonce, key, _KEY_AAD)),
            )
        else:
            record.update(protection="key file", key=_b64(key))
        write_private(self.key_path, json.dumps(record).encode("utf-8"))

    def _open_key(self, passphrase: str | None) -> tuple[bytes, str]:
        try:
            record = json.loads(self.key_path.read_bytes())
            if record.get("protection") == "key file":
                return _unb64(record["key"]), "key file"
            kdf = record["kdf"]
            salt, nonce, wrapped = (
                _unb64(kdf["salt"]),
                _unb64(record["nonce"]),
                _unb64(record["wrapped"]),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SecretStoreError(
                f"the key file {self.key_path} cannot be read: {type(exc).__name__}: {exc}",
                f"restore it from a backup; without it {self.path} cannot be opened (move "
                "both away and store the credentials again to start afresh)",
            ) from None
        if not passphrase:
            raise SecretStoreLocked(
                f"the secrets file {self.path} is protected by a passphrase, and none was given",
                f"set {ENV_PASSPHRASE} (or run the command in a terminal to be asked)",
            )
        from cryptography.exceptions import InvalidTag

        try:
            key = _aes(derive(passphrase, salt, kdf)).decrypt(nonce, wrapped, _KEY_AAD)
        except InvalidTag:
            raise SecretStoreLocked(
                f"the passphrase does not open the encrypted secrets file {self.path}",
                f"check {ENV_PASSPHRASE} (or what you typed); if the passphrase is lost, move "
                f"{self.key_path} and {self.path} away and store the credentials again with "
                "`vps-console credentials set`",
            ) from None
        return key, "passphrase"

    # --------------------------------------------------------------- the content
    @contextmanager
    def _locked(self) -> Iterator[None]:
        with self._thread_lock:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # closing releases the lock

    def _load(self) -> None:
        """Re-read the file when it changed on disk since the last read."""
        try:
            seen = os.stat(self.path)
        except FileNotFoundError:
            self._seen, self._entries = None, {}
            return
        stamp = (seen.st_ino, seen.st_size, seen.st_mtime_ns)
        if stamp == self._seen:
            return
        from cryptography.exceptions import InvalidTag

        try:
            record = json.loads(self.path.read_bytes())
            if record.get("key_id") != _key_id(self._key):
                raise InvalidTag
            plain = _aes(self._key).decrypt(_unb64(record["nonce"]), _unb64(record["data"]), _AAD)
            entries = json.loads(plain)
        except (InvalidTag, ValueError, KeyError, TypeError):
            raise SecretStoreLocked(
                f"{self.path} cannot be opened with the key in {self.key_path}",
                "the key file was replaced or the secrets file damaged: restore both from the "
                "same backup, or move them away and store the credentials again",
            ) from None
        self._seen, self._entries = stamp, dict(entries)

    def _save(self) -> None:
        nonce = _random.token_bytes(12)
        data = _aes(self._key).encrypt(nonce, json.dumps(self._entries).encode("utf-8"), _AAD)
        write_private(
            self.path,
            json.dumps(
                {
                    "format": FORMAT,
                    "key_id": _key_id(self._key),
                    "nonce": _b64(nonce),
                    "data": _b64(data),
                }
            ).encode("utf-8"),
        )
        # What was just written is what is in memory: no need to read it back (the lock
        # held by change() keeps any other writer out until then).
        written = os.stat(self.path)
        self._seen = (written.st_ino, written.st_size, written.st_mtime_ns)

    def get(self, name: str) -> str | None:
        with self._thread_lock:
            self._load()
            return self._entries.get(name)

    def get_from_disk(self, name: str) -> str | None:
        with self._thread_lock:
            self._seen = None
            self._load()
            return self._entries.get(name)

    def names(self) -> list[str]:
        with self._thread_lock:
            self._load()
            return sorted(self._entries)

    def change(self, values: Mapping[str, str], remove: tuple[str, ...] = ()) -> None:
        with self._locked():
            self._load()
            self._entries.update(values)
            for name in remove:
                self._entries.pop(name, None)
            self._save()


class FileSecretStore(SecretStore):
    """The SecretStore over a Vault: no index entry (the file lists its own names), and no
    cache of its own (the vault re-reads what other processes wrote)."""

    def __init__(self, vault: Vault, info: BackendInfo):
        super().__init__(None, info)
        self.vault = vault

    def _read(self, name: str) -> str | None:
        return self.vault.get(name)

    def _read_fresh(self, name: str) -> str | None:
        return self.vault.get_from_disk(name)

    def _write(self, name: str, value: str) -> None:
        self.vault.change({name: value})

    def _remove(self, name: str) -> None:
        self.vault.change({}, (name,))

    def _write_many(self, values: Mapping[str, str], remove: tuple[str, ...]) -> None:
        self.vault.change(values, remove)

    def _cached_read(self, name: str) -> str | None:
        return self._guarded(f"read {name}", lambda: self._read(name))

    def _index(self) -> list[str]:
        return self._guarded("list the names", self.vault.names)

    def _save_index(self, names: list[str]) -> None:
        pass  # the file's own keys are the index


def open_vault_store(
    folder: Path, passphrase: str | None, why: str, rejected: tuple[str, ...] = ()
) -> FileSecretStore:
    vault = Vault(folder, passphrase)
    how = (
        "the key is in an owner-only key file, as ssh and gh keep theirs"
        if vault.protection == "key file"
        else "the key file is locked by a passphrase"
    )
    if vault.upgraded:
        how = "the key file is now locked by the passphrase (upgraded from a plain key file)"
    news = "; created now" if vault.created else ""
    return FileSecretStore(
        vault,
        BackendInfo(
            name="encrypted file",
            persistent=True,
            path=str(vault.path),
            key_path=str(vault.key_path),
            protection=vault.protection,
            reason=f"{why}; {how}{news}",
            rejected=rejected,
        ),
    )
