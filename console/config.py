"""The console's configuration: a TOML file validated into pydantic models.

Every mistake becomes one `ConfigError` that names the file, the line, the key path,
what was expected and an example, so an engineer can fix it without reading code.
Secrets are refused here on purpose: they belong in the keyring (or, for automation,
in environment variables), never in a file that gets copied around.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlparse

import platformdirs
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from console.errors import BadInput
from console.units import SizeError, parse_gib, parse_mib

APP_NAME = "vps-console"
ENV_CONFIG = "VPS_CONSOLE_CONFIG"
LICENSE_KINDS = ("windows", "mssql", "plesk", "cpanel")
SECRET_WORDS = ("password", "secret", "token", "passphrase", "license_key", "api_key")


class ConfigError(BadInput):
    """A configuration mistake, already phrased for the engineer."""

    def __init__(
        self,
        message: str,
        *,
        path: Path | None = None,
        line: int | None = None,
        key: str | None = None,
    ):
        self.path, self.line, self.key = path, line, key
        self.text = message  # without the file and line, for a list of several
        where = ""
        if path is not None:
            where = f"{path}" + (f", line {line}" if line else "") + ": "
        super().__init__(f"{where}{message}")


def default_config_path() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def default_store_url() -> str:
    data_dir = Path(platformdirs.user_data_dir(APP_NAME))
    return f"sqlite:///{data_dir / 'console.db'}"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_url(value: str, *, schemes: tuple[str, ...], example: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in schemes or not parsed.netloc:
        raise ValueError(f"{value!r} is not a URL; expected e.g. {example}")
    return value.rstrip("/")


def plain_http_over_network(url: str | None) -> bool:
    """An http:// URL to another machine: passwords and customer data would cross the
    network in clear. Loopback (the embedded simulators, an SSH tunnel) stays on this host."""
    if not url:
        return False
    parsed = urlparse(url)
    if parsed.scheme != "http":
        return False
    host = (parsed.hostname or "").lower()
    return not (host == "localhost" or host == "::1" or host.startswith("127."))


def _refuse_plain_http(url: str | None, acknowledged: bool, what: str) -> None:
    if plain_http_over_network(url) and not acknowledged:
        raise ValueError(
            f"url: {url} is plain http: the {what} would travel in clear; use https:// (with "
            "ca_file for a private CA), or set insecure_acknowledged = true to accept that risk"
        )


class IntakePolicy(StrEnum):
    """What happens when billing reports a paid order of a product (`on_paid`)."""

    QUEUE = "queue"  # wait in the queue for an engineer (nothing is created before)
    PRECLONE = "preclone"  # clone now, stop ready_for_engineer (VM down, never started)
    PROVISION = "provision"  # all the way when nothing needs a human, else as preclone


class EngineConfig(_Strict):
    name: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    url: str
    username: str = "admin@internal"
    ca_file: Path | None = None
    insecure: bool = False
    insecure_acknowledged: bool = False
    cluster: str | None = None
    storage_domain: str | None = None
    # Seconds one engine call may take before it counts as failed (and is retried).
    timeout_seconds: Annotated[int, Field(ge=1, le=600)] = 60
    # Full clones running at once on one storage domain of this engine (more make real
    # engines time out and leave locked images); further jobs wait for a slot.
    max_clones_per_storage_domain: Annotated[int, Field(ge=1, le=64)] = 2

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _check_url(
            value, schemes=("http", "https"), example="https://engine.example.net/ovirt-engine/api"
        )

    @model_validator(mode="after")
    def _insecure_needs_ack(self) -> EngineConfig:
        _refuse_plain_http(self.url, self.insecure_acknowledged, "engine password")
        if self.insecure and not self.insecure_acknowledged:
            raise ValueError(
                "insecure: insecure = true turns off TLS verification of the engine; to accept that "
                "risk, also set insecure_acknowledged = true (better: set ca_file to the "
                'engine\'s CA, e.g. ca_file = "/etc/pki/ovirt-engine/ca.pem")'
            )
        return self


class BillingConfig(_Strict):
    kind: Literal["whmcs", "file", "none"] = "none"
    url: str | None = None
    identifier: str | None = None
    # The CA that signed WHMCS's certificate (a private CA); default: the system CAs.
    ca_file: Path | None = None
    # Plain http:// to another host is refused unless this is set (then shown in red).
    insecure_acknowledged: bool = False
    timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 15.0
    sync_interval_seconds: Annotated[int, Field(ge=5)] = 60
    claim_timeout_minutes: Annotated[int, Field(ge=1)] = 30

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return _check_url(value, schemes=("http", "https"), example="https://billing.example.net")

    @model_validator(mode="after")
    def _whmcs_needs_endpoint(self) -> BillingConfig:
        if self.kind == "whmcs" and (not self.url or not self.identifier):
            raise ValueError(
                'kind = "whmcs" needs url and identifier, e.g. '
                'url = "https://billing.example.net", identifier = "AbC123..."'
            )
        _refuse_plain_http(
            self.url, self.insecure_acknowledged, "API secret and the customers' passwords"
        )
        if self.ca_file is not None and not self.ca_file.expanduser().is_file():
            raise ValueError(
                f"ca_file: {self.ca_file} is not a file; give the PEM file of the "
                "CA that signed WHMCS's certificate"
            )
        return self


class ProductMapping(_Strict):
    """A billing product and the engine template its orders are cloned from."""

    billing_product: Annotated[str, Field(min_length=1)]
    template: Annotated[str, Field(min_length=1)]
    version: Literal["latest"] | Annotated[int, Field(ge=1)] = "latest"
    cpus: Annotated[int, Field(ge=1, le=256)] = 1
    memory_mib: int = 1024
    disk_gib: int = 20
    max_cpus: Annotated[int, Field(ge=1, le=256)] = 16
    max_memory_mib: int = 64 * 1024
    max_disk_gib: int = 1000
    license_kinds: tuple[Literal["windows", "mssql", "plesk", "cpanel"], ...] = ()
    # What a paid order of this product sets off (see IntakePolicy); default: the queue.
    on_paid: IntakePolicy = IntakePolicy.QUEUE
    # Custom fields (free text the customer types) read for this product, by exact name,
    # e.g. fields = {disk = "Disk GB"}; none is read otherwise.
    # Kept as (kind, field name) pairs: the model is frozen and hashable.
    fields: tuple[
        tuple[
            Literal["cpus", "memory", "disk", "os", "hostname"], Annotated[str, Field(min_length=1)]
        ],
        ...,
    ] = ()

    @field_validator("fields", mode="before")
    @classmethod
    def _fields(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return tuple(sorted(value.items()))
        return value

    @model_validator(mode="before")
    @classmethod
    def _sizes(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for key, target, parse in (
            ("memory", "memory_mib", parse_mib),
            ("max_memory", "max_memory_mib", parse_mib),
            ("disk", "disk_gib", parse_gib),
            ("max_disk", "max_disk_gib", parse_gib),
        ):
            if key in data:
                try:
                    data[target] = parse(data.pop(key))
                except SizeError as exc:
                    raise ValueError(f"{key}: {exc}") from None
        return data

    @model_validator(mode="after")
    def _limits(self) -> ProductMapping:
        if (
            self.cpus > self.max_cpus
            or self.memory_mib > self.max_memory_mib
            or self.disk_gib > self.max_disk_gib
        ):
            raise ValueError(
                "cpus: the default resources (cpus, memory, disk) exceed the "
                "product's max_cpus / max_memory / max_disk limits; raise the "
                "limits or lower the defaults"
            )
        return self


# --- [[catalog.templates]]: template upkeep (refresh, retention, staleness) -------------
class TemplateUpkeep(_Strict):
    """How one engine template is kept up to date (vps-console templates ...)."""

    name: Annotated[str, Field(min_length=1)]
    # The update/hardening script run by the build VM's first boot (cloud-config or shell for
    # Linux, PowerShell/cmd lines for Windows); it must end by powering the guest off.
    update_script: Path | None = None
    keep_versions: Annotated[int, Field(ge=1, le=100)] = 3
    max_age_days: Annotated[int, Field(ge=1)] = 30
    # How long the script may run when no earlier refresh of this template says better.
    script_timeout_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 120


DEFAULT_UPKEEP = TemplateUpkeep(name="*")
# --- end of [[catalog.templates]] ------------------------------------------------------


class CatalogConfig(_Strict):
    products: tuple[ProductMapping, ...] = ()
    stale_after_days: Annotated[int, Field(ge=1)] = 90
    templates: tuple[TemplateUpkeep, ...] = ()  # [[catalog.templates]], see TemplateUpkeep

    def upkeep_for(self, template: str) -> TemplateUpkeep:
        """The [[catalog.templates]] entry for `template`, else the defaults."""
        for entry in self.templates:
            if entry.name == template:
                return entry
        return DEFAULT_UPKEEP.model_copy(update={"name": template})

    def product_for(self, billing_product: str) -> ProductMapping | None:
        wanted = billing_product.strip().casefold()
        for product in self.products:
            if product.billing_product.strip().casefold() == wanted:
                return product
        return None


class StoreConfig(_Strict):
    url: str = Field(default_factory=default_store_url)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^(sqlite|postgresql(\+psycopg)?)://", value):
            raise ValueError(
                f"{value!r} is not a store URL; expected sqlite:///path/console.db "
                "or postgresql://user@host/dbname"
            )
        return value


class UiConfig(_Strict):
    theme: str = "textual-dark"
    refresh_seconds: Annotated[float, Field(ge=1, le=600)] = 5.0
    # The VMs view: statistics of the VMs on screen read at most this often, and every
    # managed VM listed again this often (events missed are repaired then).
    vm_stats_seconds: Annotated[float, Field(ge=1, le=3600)] = 15.0
    vm_relist_seconds: Annotated[float, Field(ge=10, le=86400)] = 300.0
    # Provisioning jobs started from the console run on a pool of this many threads of
    # their own, so jobs never take the threads the screens refresh with.
    job_workers: Annotated[int, Field(ge=1, le=64)] = 4


class NamingConfig(_Strict):
    vm_name: str = "vps-{order_id}"
    hostname: str = "{order_id}.vps.example.net"

    @field_validator("vm_name", "hostname")
    @classmethod
    def _pattern(cls, value: str) -> str:
        if "{order_id}" not in value:
            raise ValueError(
                f"{value!r} must contain {{order_id}} so every order gets its own "
                'name, e.g. "vps-{order_id}"'
            )
        try:
            value.format(order_id="1")
        except (KeyError, IndexError, ValueError):
            raise ValueError(
                f'{value!r} may use only {{order_id}}, e.g. "vps-{{order_id}}"'
            ) from None
        return value


class LicensesConfig(_Strict):
    # The console and doctor warn when fewer keys than this are left of a kind the vault
    # holds; 0 turns the warning off.
    low_stock: Annotated[int, Field(ge=0, le=100000)] = 5


# --- [[pool]]: the warm pool (console/flow/pool.py) ------------------------------------
class PoolEntry(_Strict):
    """N VMs kept cloned from a template's latest version, down, for orders to take."""

    template: Annotated[str, Field(min_length=1)]
    cluster: Annotated[str, Field(min_length=1)]
    # Where the pool VMs' disks go; empty: the template's own storage domain.
    storage_domain: str = ""
    size: Annotated[int, Field(ge=0, le=200)] = 2
    # A pool VM older than this is replaced (its template may have aged under it).
    max_age_hours: Annotated[int, Field(ge=1, le=24 * 365)] = 168
    engine: str | None = None  # default: the first [[engines]] entry


# --- end of [[pool]] -------------------------------------------------------------------


class Config(_Strict):
    engines: tuple[EngineConfig, ...]
    billing: BillingConfig = BillingConfig()
    catalog: CatalogConfig = CatalogConfig()
    store: StoreConfig = StoreConfig()
    ui: UiConfig = UiConfig()
    naming: NamingConfig = NamingConfig()
    licenses: LicensesConfig = LicensesConfig()
    pool: tuple[PoolEntry, ...] = ()  # [[pool]], see PoolEntry
    _path: Path | None = PrivateAttr(default=None)

    @field_validator("engines")
    @classmethod
    def _engines(cls, engines: tuple[EngineConfig, ...]) -> tuple[EngineConfig, ...]:
        if not engines:
            raise ValueError("at least one [[engines]] entry is needed")
        seen: set[str] = set()
        for position, engine in enumerate(engines):
            if engine.name in seen:
                raise ValueError(
                    f"{position}.name: engine name {engine.name!r} is used twice; "
                    "give each [[engines]] entry its own name"
                )
            seen.add(engine.name)
        return engines

    @field_validator("pool")
    @classmethod
    def _pools(cls, pools: tuple[PoolEntry, ...]) -> tuple[PoolEntry, ...]:
        seen: set[tuple[str | None, str, str]] = set()
        for position, entry in enumerate(pools):
            key = (entry.engine, entry.template, entry.cluster)
            if key in seen:
                raise ValueError(
                    f"{position}: a pool for {entry.template} on {entry.cluster} is configured "
                    "twice; keep one [[pool]] entry per template and cluster"
                )
            seen.add(key)
        return pools

    def engine(self, name: str | None = None) -> EngineConfig:
        if name is None:
            return self.engines[0]
        for engine in self.engines:
            if engine.name == name:
                return engine
        raise ConfigError(
            f"no engine named {name!r}; configured: " + ", ".join(e.name for e in self.engines)
        )

    def with_default_engine(self, name: str) -> Config:
        """The same config with engine `name` first: the one the console, provision and
        jobs use when no engine is named."""
        chosen = self.engine(name)
        return self.model_copy(
            update={"engines": (chosen, *(e for e in self.engines if e.name != name))}
        )

    @property
    def path(self) -> Path | None:
        """The file this configuration was read from, if any."""
        return self._path


# Shown under an error, keyed by the key path without list indexes.
EXAMPLES = {
    "engines": '[[engines]]\nname = "prod"\nurl = "https://engine.example.net/ovirt-engine/api"',
    "engines.name": 'name = "prod"',
    "engines.url": 'url = "https://engine.example.net/ovirt-engine/api"',
    "billing.url": 'url = "https://billing.example.net"',
    "billing.kind": 'kind = "whmcs"   # or "file" or "none"',
    "catalog.products.billing_product": 'billing_product = "VPS Linux cPanel"',
    "catalog.products.template": 'template = "alma9-cpanel"',
    "store.url": 'url = "sqlite:////var/lib/vps-console/console.db"',
    "licenses.low_stock": "low_stock = 5",
    "pool": '[[pool]]\ntemplate = "alma9-cpanel"\ncluster = "prod-a"\nsize = 4',
    "pool.size": "size = 4",
    "pool.max_age_hours": "max_age_hours = 168",
}


# Where a value sits in the TOML document: table names, keys and array indexes.
_Loc = tuple[str | int, ...]


def _example(loc: _Loc) -> str | None:
    return EXAMPLES.get(".".join(str(part) for part in loc if not isinstance(part, int)))


@dataclass(frozen=True)
class _Located:
    line: int | None
    dotted: str


class _LineIndex:
    """Finds the line of a key path such as ('engines', 1, 'url') in TOML text.

    tomllib keeps no positions, so headers and keys are tracked by a light scan; it is
    only used to point at a line in an error message, never to read values.
    """

    _HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\" ]+?)\s*\]\]?")
    _KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=")

    def __init__(self, text: str):
        self.positions: dict[_Loc, int] = {}
        counts: dict[_Loc, int] = {}
        table: _Loc = ()
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.split("#", 1)[0] if not raw.lstrip().startswith(("'", '"')) else raw
            header = self._HEADER.match(line)
            if header:
                names = tuple(part.strip().strip('"') for part in header.group(2).split("."))
                if header.group(1) == "[[":
                    index = counts.get(names, -1) + 1
                    counts[names] = index
                    table = names + (index,)
                else:
                    table = names
                self.positions.setdefault(table, number)
                self.positions.setdefault(names, number)
                continue
            key = self._KEY.match(line)
            if key:
                self.positions.setdefault(table + (key.group(1),), number)

    def find(self, loc: _Loc) -> int | None:
        loc = tuple(loc)
        while loc:
            if loc in self.positions:
                return self.positions[loc]
            loc = loc[:-1]
        return None


def _dotted(loc: _Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _model_for(loc: _Loc) -> type[BaseModel] | None:
    model: type[BaseModel] | None = Config
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if model is not None else None
        if field is None:
            return None
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        candidates = [annotation, *args]
        model = next(
            (c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None
        )
        if model is None:
            return None
    return model


def _refuse_secrets(data: Any, index: _LineIndex, path: Path, loc: _Loc = ()) -> None:
    if isinstance(data, dict):
        for key, value in data.items():
            here = loc + (key,)
            if any(word in key.lower() for word in SECRET_WORDS):
                raise ConfigError(
                    f"{_dotted(here)}: secrets are never kept in the config file. Remove this "
                    "key and store the value in the keyring with `vps-console credentials set "
                    "engine NAME` (or `billing`, or `license ORDER KIND`); for automation use "
                    "the environment variables VPS_CONSOLE_ENGINE_PASSWORD / "
                    "VPS_CONSOLE_BILLING_SECRET.",
                    path=path,
                    line=index.find(here),
                    key=_dotted(here),
                )
            _refuse_secrets(value, index, path, here)
    elif isinstance(data, list):
        for number, item in enumerate(data):
            _refuse_secrets(item, index, path, loc + (number,))


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


def _ordered(errors: list[ErrorDetails]) -> list[ErrorDetails]:
    # An unknown key usually explains a "missing" one next to it (a typo), so say it first.
    return sorted(errors, key=lambda error: error["type"] != "extra_forbidden")


def _all_of(problems: list[ConfigError], path: Path) -> ConfigError:
    """Every problem of the file in one error, so one edit can fix them all (the first one's
    line and key stay on the error for whoever points at it)."""
    if len(problems) == 1:
        return problems[0]
    lines = [f"{len(problems)} problems:"]
    for problem in problems:
        where = f"line {problem.line}: " if problem.line else ""
        first, *rest = problem.text.splitlines()
        lines.append(f"  - {where}{first}")
        lines.extend(f"    {line}" for line in rest)
    every = ConfigError("\n".join(lines), path=path)
    every.line, every.key = problems[0].line, problems[0].key
    return every


def _explain(error: ErrorDetails, index: _LineIndex, path: Path) -> ConfigError:
    loc = tuple(error["loc"])
    kind = error["type"]
    message = error.get("msg", "").removeprefix("Value error, ")
    # Table-level validators start their message with the key they are about ("insecure: …")
    # so the error can point at that key's line rather than at the table header.
    # ("2.name: …" points into the list: the third entry's name.)
    refined = re.match(r"^((?:\d+\.)?[a-z_]+): ", message)
    if refined and kind == "value_error":
        extra = tuple(int(part) if part.isdigit() else part for part in refined.group(1).split("."))
        loc, message = loc + extra, message[refined.end() :]
    dotted = _dotted(loc) or "(top level)"
    line = index.find(loc)
    if kind == "extra_forbidden":
        unknown = loc[-1]
        model = _model_for(loc[:-1])
        known = list(model.model_fields) if model else []
        hint = difflib.get_close_matches(str(unknown), known, n=1)
        suggestion = f" Did you mean {hint[0]!r}?" if hint else ""
        allowed = f" Allowed keys here: {', '.join(known)}." if known else ""
        text = f"{dotted}: unknown key.{suggestion}{allowed}"
    elif kind == "missing":
        example = _example(loc) or f"{loc[-1]} = ..."
        text = f"{dotted}: this key is required. Example:\n{_indent(example)}"
    elif kind == "literal_error":
        text = (
            f"{dotted}: {error.get('input')!r} is not allowed; {message[0].lower() + message[1:]}."
        )
    elif kind.endswith("_type") or kind.endswith("_parsing"):
        text = (
            f"{dotted}: expected {message.removeprefix('Input should be ')}, "
            f"got {error.get('input')!r}."
        )
    else:
        # A validator that names its key also says its fix; a generic example would not help.
        known_example = None if refined else _example(loc)
        text = f"{dotted}: {message}" + (
            f"\nExample:\n{_indent(known_example)}"
            if known_example and known_example not in message
            else ""
        )
    return ConfigError(text, path=path, line=line, key=dotted)


def parse_config(text: str, path: Path) -> Config:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise ConfigError(
            f"this is not valid TOML: {exc}. Check quotes, brackets and "
            "'key = value' pairs on that line.",
            path=path,
            line=int(match.group(1)) if match else None,
        ) from None
    index = _LineIndex(text)
    _refuse_secrets(data, index, path)
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise _all_of(
            [_explain(error, index, path) for error in _ordered(exc.errors())], path
        ) from None
    config._path = path
    return config


def resolve_config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get(ENV_CONFIG):
        return Path(os.environ[ENV_CONFIG]).expanduser()
    return default_config_path()


def load_config(explicit: str | os.PathLike[str] | None = None) -> Config:
    path = resolve_config_path(explicit)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            "no configuration file here. Copy config.example.toml to this path and edit it, "
            f"pass --config PATH, or set {ENV_CONFIG}; to try the console without any set-up "
            "run `vps-console demo`.",
            path=path,
        ) from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the configuration file: {exc}", path=path) from None
    return parse_config(text, path)
