"""From an order, its product mapping and the engineer's overrides: a provisioning plan.

Pure: no engine, no store, no secrets. What cannot be planned comes back as problems that
name the field and the fix, so the TUI can put the message under the right input and the
CLI can print it as is. License keys are not part of a plan; only their masks are.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from console.config import Config, ProductMapping
from console.flow.licenses import KEY_KINDS, FieldProblem, check_license, normalise_license  # noqa: F401
from console.flow.naming import vm_name_for
from console.ovirt.models import Cluster, Template
from console.units import format_mib

# Always fullmatch: `$` also matches before a trailing newline, which would let one through.
_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", re.ASCII)
_SSH_KEY = re.compile(
    r"(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp\d+|sk-[a-z0-9@.-]+) "
    r"[A-Za-z0-9+/=]+( [^\x00-\x1f\x7f]*)?",
    re.ASCII,
)
WINDOWS_NAME_MAX = 15  # NetBIOS: sysprep's ComputerName is at most 15 characters


@dataclass(frozen=True)
class Overrides:
    template: str | None = None
    version: int | None = None
    cluster: str | None = None
    cpus: int | None = None
    memory_mib: int | None = None
    guaranteed_mib: int | None = None
    disk_gib: int | None = None
    hostname: str | None = None
    ssh_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    """What will be created for one order. Holds no secret: keys appear masked only."""

    order_id: str
    vm_name: str
    engine: str
    template_name: str
    template_id: str
    template_version: int
    cluster: str
    cpus: int
    memory_mib: int
    guaranteed_mib: int
    disk_gib: int
    hostname: str
    init_kind: str  # "cloud-init" | "sysprep"
    license_kinds: tuple[str, ...] = ()
    license_masks: dict[str, str] = field(default_factory=dict, hash=False)
    ssh_keys: tuple[str, ...] = ()
    admin_user: str = "root"
    service_id: str | None = None

    @property
    def key_kinds(self) -> tuple[str, ...]:
        """The license kinds for which a key must be supplied (cPanel needs none)."""
        return tuple(kind for kind in self.license_kinds if kind in KEY_KINDS)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["license_kinds"] = list(self.license_kinds)
        data["ssh_keys"] = list(self.ssh_keys)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        values["license_kinds"] = tuple(values.get("license_kinds") or ())
        values["ssh_keys"] = tuple(values.get("ssh_keys") or ())
        values["license_masks"] = dict(values.get("license_masks") or {})
        return cls(**values)

    def summary(self) -> list[tuple[str, str]]:
        """(label, value) lines for a plan preview."""
        return [
            ("VM", f"{self.vm_name} on {self.engine} / {self.cluster}"),
            ("template", f"{self.template_name} v{self.template_version}"),
            ("vCPU", str(self.cpus)),
            (
                "memory",
                f"{format_mib(self.memory_mib)} (guaranteed {format_mib(self.guaranteed_mib)})",
            ),
            ("disk", f"{self.disk_gib} GiB"),
            ("hostname", self.hostname),
            ("initialization", f"{self.init_kind} as {self.admin_user}"),
            (
                "licenses",
                ", ".join(
                    f"{k} {self.license_masks.get(k, '(none needed)')}" for k in self.license_kinds
                )
                or "none",
            ),
        ]


def resource_diff(order: Any, plan: Plan) -> list[tuple[str, int | None, int, bool]]:
    """(label, ordered, planned, changed) for vCPU, RAM (MiB) and disk (GiB): what the
    engineer changed from what the customer bought, for the plan preview and the audit."""
    rows = []
    for label, ordered, planned in (
        ("vCPU", order.cpus, plan.cpus),
        ("RAM", order.memory_mib, plan.memory_mib),
        ("disk", order.disk_gib, plan.disk_gib),
    ):
        rows.append((label, ordered, planned, ordered is not None and ordered != planned))
    return rows


# How each resource reads in a plan diff, in the CLI, the console and the audit trail.
RESOURCE_SHOWN: dict[str, Callable[[int], str]] = {
    "vCPU": str,
    "RAM": format_mib,
    "disk": lambda gib: f"{gib}GiB",
}


@dataclass(frozen=True)
class PlanDiff:
    changed: list[str]  # what the engineer changed, e.g. "RAM 4GiB -> 8GiB"
    as_ordered: list[str]  # what is as the customer bought it, e.g. "vCPU 2"


def plan_diff(order: Any, plan: Plan) -> PlanDiff:
    """The plan against the order, as both fronts and the audit trail write it."""
    diff = PlanDiff([], [])
    for label, ordered, planned, changed in resource_diff(order, plan):
        shown = RESOURCE_SHOWN[label]
        if changed and ordered is not None:  # changed implies ordered
            diff.changed.append(f"{label} {shown(ordered)} -> {shown(planned)}")
        else:
            diff.as_ordered.append(f"{label} {shown(planned)}")
    return diff


def resource_changes(order: Any, plan: Plan) -> list[str]:
    """What the engineer changed from what the customer ordered, e.g. 'RAM 4GiB -> 8GiB'."""
    return plan_diff(order, plan).changed


@dataclass
class Draft:
    plan: Plan | None
    problems: list[FieldProblem]
    required_license_kinds: tuple[str, ...]
    recommended_templates: list[Template]

    @property
    def ok(self) -> bool:
        return self.plan is not None and not self.problems


def check_hostname(hostname: str, *, windows: bool = False) -> FieldProblem | None:
    """RFC 1123 host name (and the NetBIOS limit on Windows)."""
    fix = "use letters, digits and hyphens in dot-separated labels, e.g. vps-2001.example.net"
    if not hostname:
        return FieldProblem("hostname", "the host name is empty", fix)
    if len(hostname) > 253:
        return FieldProblem(
            "hostname",
            f"the host name has {len(hostname)} characters; at most 253 are allowed",
            "shorten it",
        )
    for label in hostname.rstrip(".").split("."):
        if not _LABEL.fullmatch(label.lower()):
            why = (
                "an empty label (two dots in a row)"
                if not label
                else f"label {label!r} is longer than 63 characters"
                if len(label) > 63
                else f"label {label!r} starts or ends with a hyphen"
                if label.startswith("-") or label.endswith("-")
                else f"label {label!r} has characters other than letters, digits and hyphens"
            )
            return FieldProblem("hostname", f"{hostname!r} is not a valid host name: {why}", fix)
    if windows and len(hostname.split(".")[0]) > WINDOWS_NAME_MAX:
        return FieldProblem(
            "hostname",
            f"Windows computer names are at most "
            f"{WINDOWS_NAME_MAX} characters; {hostname.split('.')[0]!r} has "
            f"{len(hostname.split('.')[0])}",
            "shorten the first label, e.g. vps-2001.example.net",
        )
    return None


def required_license_kinds(
    template: Template | None, product: ProductMapping | None
) -> tuple[str, ...]:
    kinds: list[str] = list(product.license_kinds) if product is not None else []
    if template is not None:
        if template.is_windows:
            kinds.insert(0, "windows")
        kinds += [app for app in template.apps if app in ("cpanel", "plesk", "mssql")]
    return tuple(dict.fromkeys(kinds))


def _latest(templates: list[Template]) -> dict[str, Template]:
    latest: dict[str, Template] = {}
    for template in templates:
        current = latest.get(template.name)
        if current is None or template.version_number > current.version_number:
            latest[template.name] = template
    return latest


def _recommend(
    templates: list[Template], chosen: Template | None, name: str | None
) -> list[Template]:
    latest = _latest(templates)
    if chosen is not None:
        similar = [
            t
            for t in latest.values()
            if t.name != chosen.name and t.apps == chosen.apps and t.is_windows == chosen.is_windows
        ]
        return [latest[chosen.name], *sorted(similar, key=lambda t: t.name)]
    if name:
        words = set(re.split(r"[-_ ]+", name.lower()))
        close = [t for t in latest.values() if words & set(re.split(r"[-_ ]+", t.name.lower()))]
        if close:
            return sorted(close, key=lambda t: t.name)
    return sorted(latest.values(), key=lambda t: t.name)


def _choose_template(
    name: str | None,
    version: int | str | None,
    templates: list[Template],
    problems: list[FieldProblem],
) -> Template | None:
    if not name:
        problems.append(
            FieldProblem(
                "template",
                "no template is chosen for this order",
                "pick one (--template NAME[:VERSION]) or map the product in [[catalog.products]]",
            )
        )
        return None
    versions = [t for t in templates if t.name == name]
    if not versions:
        names = sorted({t.name for t in templates})
        problems.append(
            FieldProblem(
                "template",
                f"the engine has no template named {name!r}",
                "pick one of: " + ", ".join(names)
                if names
                else "create the template on the engine first",
            )
        )
        return None
    if version in (None, "latest"):
        return max(versions, key=lambda t: t.version_number)
    for template in versions:
        if template.version_number == int(version):
            return template
    problems.append(
        FieldProblem(
            "template.version",
            f"{name} has no version {version}",
            "pick one of versions "
            + ", ".join(
                str(t.version_number) for t in sorted(versions, key=lambda t: t.version_number)
            ),
        )
    )
    return None


def _cluster(
    config: Config,
    engine: str,
    overrides: Overrides,
    clusters: list[Cluster] | None,
    problems: list[FieldProblem],
) -> str:
    if overrides.cluster:
        if clusters is not None and overrides.cluster not in {c.name for c in clusters}:
            problems.append(
                FieldProblem(
                    "cluster",
                    f"the engine has no cluster {overrides.cluster!r}",
                    "pick one of: " + ", ".join(c.name for c in clusters),
                )
            )
        return overrides.cluster
    configured = config.engine(engine).cluster
    if configured:
        return configured
    if clusters:
        roomiest = max(clusters, key=lambda c: c.free_memory_mib or 0)
        return roomiest.name
    problems.append(
        FieldProblem(
            "cluster",
            "no cluster is chosen",
            'set cluster = "NAME" in the [[engines]] entry or pick one',
        )
    )
    return ""


def draft_plan(
    order: Any,
    product: ProductMapping | None,
    templates: list[Template],
    config: Config,
    overrides: Overrides = Overrides(),
    *,
    engine: str | None = None,
    clusters: list[Cluster] | None = None,
) -> Draft:
    """Plan the provisioning of `order` (a store Order); problems say what to fix."""
    problems: list[FieldProblem] = []
    engine_name = engine or config.engines[0].name
    order_id = str(order.id)
    template_name = (
        overrides.template
        or (product.template if product else None)
        or getattr(order, "template_name", None)
    )
    version = (
        overrides.version
        if overrides.version is not None
        else (product.version if product is not None and not overrides.template else None)
    )
    if product is None and not overrides.template:
        problems.append(
            FieldProblem(
                "product",
                f"product {order.product_name!r} is not mapped to a template",
                f'add [[catalog.products]] billing_product = "{order.product_name}" with its '
                "template to the config, or pick a template (--template NAME)",
            )
        )
    template = _choose_template(template_name, version, templates, problems)
    kinds = required_license_kinds(template, product)
    recommended = _recommend(templates, template, template_name)
    cluster = _cluster(config, engine_name, overrides, clusters, problems)

    def pick(override: int | None, ordered: int | None, default: int | None) -> int:
        return next(v for v in (override, ordered, default, 0) if v is not None)

    cpus = pick(overrides.cpus, order.cpus, product.cpus if product else None)
    memory = pick(overrides.memory_mib, order.memory_mib, product.memory_mib if product else None)
    disk = pick(overrides.disk_gib, order.disk_gib, product.disk_gib if product else None)
    if template is not None:
        # Never below the image: the template's OS was sealed for at least that.
        cpus = cpus or template.cpus
        memory = memory or template.memory_mib
        disk = max(disk, template.disk_gib) if overrides.disk_gib is None else disk
    guaranteed = overrides.guaranteed_mib if overrides.guaranteed_mib is not None else memory
    _check_resources(cpus, memory, guaranteed, disk, product, template, problems)

    hostname = (
        (
            overrides.hostname
            or getattr(order, "hostname", None)
            or config.naming.hostname.format(order_id=order_id)
        )
        .strip()
        .rstrip(".")
        .lower()
    )
    problem = check_hostname(hostname, windows=bool(template and template.is_windows))
    if problem:
        problems.append(problem)
    for number, key in enumerate(overrides.ssh_keys):
        if not _SSH_KEY.fullmatch(key.strip()):
            problems.append(
                FieldProblem(
                    f"ssh_keys[{number}]",
                    "this is not an OpenSSH public key",
                    "paste one line like 'ssh-ed25519 AAAA… user@host'",
                )
            )
            break
    if template is not None and template.is_windows and overrides.ssh_keys:
        problems.append(
            FieldProblem(
                "ssh_keys",
                "SSH keys cannot be installed by sysprep",
                "remove them; give the customer the Administrator password",
            )
        )

    plan = None
    if template is not None and cluster:
        plan = Plan(
            order_id=order_id,
            vm_name=vm_name_for(config, order_id),
            engine=engine_name,
            template_name=template.name,
            template_id=template.id,
            template_version=template.version_number,
            cluster=cluster,
            cpus=cpus,
            memory_mib=memory,
            guaranteed_mib=guaranteed,
            disk_gib=disk,
            hostname=hostname,
            init_kind="sysprep" if template.is_windows else "cloud-init",
            license_kinds=kinds,
            license_masks={},
            ssh_keys=tuple(k.strip() for k in overrides.ssh_keys),
            admin_user="Administrator" if template.is_windows else "root",
            service_id=(str(order.service_id) if getattr(order, "service_id", None) else None),
        )
    return Draft(
        plan=plan,
        problems=problems,
        required_license_kinds=kinds,
        recommended_templates=recommended,
    )


def _check_resources(
    cpus: int,
    memory: int,
    guaranteed: int,
    disk: int,
    product: ProductMapping | None,
    template: Template | None,
    problems: list[FieldProblem],
) -> None:
    if cpus < 1:
        problems.append(FieldProblem("cpus", "at least 1 vCPU is needed", "set --cpus 1 or more"))
    if product is not None:
        if cpus > product.max_cpus:
            problems.append(
                FieldProblem(
                    "cpus",
                    f"{cpus} vCPU is above the product's limit of {product.max_cpus}",
                    f"use at most {product.max_cpus}",
                )
            )
        if memory > product.max_memory_mib:
            problems.append(
                FieldProblem(
                    "memory",
                    f"{format_mib(memory)} is above the product's limit of "
                    f"{format_mib(product.max_memory_mib)}",
                    f"use at most {format_mib(product.max_memory_mib)}",
                )
            )
        if disk > product.max_disk_gib:
            problems.append(
                FieldProblem(
                    "disk",
                    f"{disk} GiB is above the product's limit of {product.max_disk_gib} GiB",
                    f"use at most {product.max_disk_gib} GiB",
                )
            )
    if template is not None:
        if cpus < template.cpus:
            problems.append(
                FieldProblem(
                    "cpus",
                    f"{cpus} vCPU is below the template's {template.cpus}",
                    f"use {template.cpus} or more",
                )
            )
        if memory < template.memory_mib:
            problems.append(
                FieldProblem(
                    "memory",
                    f"{format_mib(memory)} is below the template's "
                    f"{format_mib(template.memory_mib)}",
                    f"use {format_mib(template.memory_mib)} or more",
                )
            )
        if disk < template.disk_gib:
            problems.append(
                FieldProblem(
                    "disk",
                    f"{disk} GiB is smaller than the template's "
                    f"{template.disk_gib} GiB disk; disks can only grow",
                    f"use {template.disk_gib} GiB or more",
                )
            )
    if memory % 256:
        problems.append(
            FieldProblem(
                "memory",
                f"{memory} MiB is not a multiple of 256 MiB",
                "round it, e.g. 4GiB or 4352MiB",
            )
        )
    if guaranteed > memory:
        problems.append(
            FieldProblem(
                "guaranteed_memory",
                "guaranteed memory exceeds memory",
                f"use at most {format_mib(memory)}",
            )
        )
    elif guaranteed < 1:
        problems.append(
            FieldProblem(
                "guaranteed_memory",
                "guaranteed memory must be positive",
                f"use {format_mib(memory)}",
            )
        )
