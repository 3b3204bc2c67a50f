"""Where the console keeps secrets, and the names it keeps them under.

Secret names: `engine:<name>`, `billing:secret`, `license:<order_id>:<kind>`,
`admin-password:<order_id>`, and `job:<job_id>:…` for a launch's secrets before its job
row is committed (console.flow.job_secrets). Every value read or written is registered
with console.redaction, so logs mask it.

- store: the names, BackendInfo, SecretStore (and its memory variant);
- choice: which backend, in which order, and why (open_secret_store);
- vault: the encrypted file with its owner-only key file, the default on a headless host;
- values: engine and billing secrets (store, then environment), masking, passwords;
- transfer: moving secrets from one backend to another.
"""

from console.secrets.choice import (
    CHOICES,
    CRYPTFILE_BACKEND,
    NO_KEYRING_BACKENDS,
    data_dir,
    key_file_path,
    keyring_file_path,
    open_secret_store,
    terminal_passphrase_prompt,
    vault_file_path,
)
from console.secrets.store import (
    BILLING_SECRET,
    ENV_KEYRING_BACKEND,
    ENV_PASSPHRASE,
    ENV_SECRETS,
    INDEX_ENTRY,
    LICENSE_KINDS,
    SERVICE,
    BackendInfo,
    MemorySecretStore,
    SecretsNotKept,
    SecretStore,
    SecretStoreError,
    SecretStoreLocked,
    admin_password_secret,
    check_name,
    engine_secret,
    license_secret,
    require_kept,
)
from console.secrets.values import (
    ENV_BILLING_SECRET,
    ENV_ENGINE_PASSWORD,
    PASSWORD_SYMBOLS,
    billing_secret,
    engine_env_variable,
    engine_password,
    generate_password,
    mask,
)

__all__ = [
    "BILLING_SECRET",
    "CHOICES",
    "CRYPTFILE_BACKEND",
    "ENV_BILLING_SECRET",
    "ENV_ENGINE_PASSWORD",
    "ENV_KEYRING_BACKEND",
    "ENV_PASSPHRASE",
    "ENV_SECRETS",
    "INDEX_ENTRY",
    "LICENSE_KINDS",
    "NO_KEYRING_BACKENDS",
    "PASSWORD_SYMBOLS",
    "SERVICE",
    "BackendInfo",
    "MemorySecretStore",
    "SecretStore",
    "SecretStoreError",
    "SecretStoreLocked",
    "SecretsNotKept",
    "admin_password_secret",
    "billing_secret",
    "check_name",
    "data_dir",
    "engine_env_variable",
    "engine_password",
    "engine_secret",
    "generate_password",
    "key_file_path",
    "keyring_file_path",
    "license_secret",
    "mask",
    "open_secret_store",
    "require_kept",
    "terminal_passphrase_prompt",
    "vault_file_path",
]
