"""A fixed world for pictures of the console: a seeded queue, a fixed engine inventory and
a frozen clock. Screenshots (tests.showcase.screenshots), the snapshot tests and the startup
bench all use it, so a picture changes only when the console's look does.

Nothing here talks to a real engine; `vps-console demo` is the live equivalent.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from console.config import Config
from console.ovirt.models import Cluster, EngineInfo, StorageDomain, Template, Vm
from console.store.models import Job, JobEvent, Order

FROZEN_NOW = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)

DEMO_CONFIG = {
    "engines": [
        {
            "name": "lab",
            "url": "http://127.0.0.1:1/ovirt-engine/api",
            "cluster": "Default",
            "storage_domain": "data",
        }
    ],
    "billing": {"kind": "none"},
    "catalog": {
        "stale_after_days": 90,
        "products": [
            {
                "billing_product": "VPS Windows Plesk",
                "template": "win2022-plesk",
                "cpus": 2,
                "memory": "4GiB",
                "disk": "100GiB",
                "max_memory": "32GiB",
                "license_kinds": ["windows", "plesk"],
            },
            {
                "billing_product": "VPS Linux cPanel",
                "template": "alma9-cpanel",
                "license_kinds": ["cpanel"],
            },
            {
                "billing_product": "VPS Linux Plesk",
                "template": "ubuntu2204-plesk",
                "license_kinds": ["plesk"],
            },
        ],
    },
    "ui": {"refresh_seconds": 5},
}


def make_config(**changes) -> Config:
    data = {**DEMO_CONFIG, **changes}
    return Config.model_validate(data)


def _template(id, name, version, os_type, apps, cpus, memory, disk, age_days, windows=False):
    return Template(
        id=id,
        name=name,
        version_number=version,
        version_name=f"2026-{version:02d}",
        os_type=os_type,
        description="",
        apps=apps,
        cpus=cpus,
        memory_mib=memory,
        disk_gib=disk,
        created_at=FROZEN_NOW - timedelta(days=age_days),
        status="ok",
        is_windows=windows,
    )


FIXED_TEMPLATES = [
    _template("t-win-2", "win2022-plesk", 2, "windows_2022", ("plesk",), 2, 4096, 60, 25, True),
    _template("t-win-1", "win2022-plesk", 1, "windows_2022", ("plesk",), 2, 4096, 60, 85, True),
    _template("t-alma-3", "alma9-cpanel", 3, "rhel_9x64", ("cpanel",), 2, 2048, 40, 10),
    _template("t-alma-2", "alma9-cpanel", 2, "rhel_9x64", ("cpanel",), 2, 2048, 40, 45),
    _template("t-ubu-1", "ubuntu2204-plesk", 1, "ubuntu_22_04", ("plesk",), 2, 2048, 30, 120),
    _template("t-c7-1", "centos7-cpanel", 1, "rhel_7x64", ("cpanel",), 2, 2048, 30, 400),
]


def _vm(number, status, ips=(), cpu=None, mem=None):
    return Vm(
        id=f"vm-{number}",
        name=f"vps-{number}",
        status=status,
        cluster="Default",
        description="",
        comment="",
        cpus=2,
        memory_mib=4096,
        guaranteed_mib=4096,
        disk_gib=80,
        ips=tuple(ips),
        fqdn=f"{number}.vps.example.net",
        cpu_percent=cpu,
        memory_percent=mem,
        tags=("vps-console",),
        template_name="alma9-cpanel",
    )


FIXED_VMS = [
    _vm(
        900 + n,
        ("up", "up", "down", "image_locked")[n % 4],
        (f"10.20.0.{10 + n}",) if n % 4 < 2 else (),
        cpu=3.0 * n,
        mem=20.0 + n,
    )
    for n in range(8)
]


class FixedEngine:
    """An engine with a fixed inventory: snapshot tests need the same screen every run."""

    name = "lab"

    def __init__(self, templates=None, vms=None, fail: str | None = None):
        from console.config import EngineConfig

        self.config = EngineConfig(
            name="lab",
            url="http://127.0.0.1:1/ovirt-engine/api",
            cluster="Default",
            storage_domain="data",
        )
        self.templates = list(FIXED_TEMPLATES if templates is None else templates)
        self.vms = list(FIXED_VMS if vms is None else vms)
        self.fail = fail
        self.calls: list[str] = []

    def _call(self, name):
        self.calls.append(name)
        if self.fail:
            from console.ovirt.errors import EngineUnavailable

            raise EngineUnavailable(self.fail, "check the engine is up")

    def info(self):
        self._call("info")
        return EngineInfo("oVirt Engine", "4.5.6")

    def list_templates(self, search=None):
        self._call("list_templates")
        return list(self.templates)

    def list_vms(self, search=None, *, max_results=None):
        self._call("list_vms")
        return list(self.vms)

    # The VMs view's reads: no events ever, so every refresh after the listing is idle.
    def newest_event_index(self):
        self._call("newest_event_index")
        return 0

    def vm_events_since(self, index, *, limit=500):
        from console.ovirt.rows import EventBatch

        self._call("vm_events_since")
        return EventBatch((), index, False)

    def vm_rows(self, search=None, *, page=None, per_page=None):
        from console.ovirt.rows import row_of

        self._call("vm_rows")
        rows = [row_of(vm) for vm in sorted(self.vms, key=lambda vm: vm.name)]
        if page is None or per_page is None:
            return rows
        return rows[(page - 1) * per_page : page * per_page]

    def vm_row_pages(self, search, *, per_page, first=None):
        """As Engine.vm_row_pages: `first` rows, then pages from the start until one is short."""
        import itertools

        screenful = [(1, first)] if first else []
        pages = ((page, per_page) for page in itertools.count(1))
        for page, size in itertools.chain(screenful, pages):
            rows = self.vm_rows(search, page=page, per_page=size)
            yield rows
            if len(rows) < size:
                return

    def vm_rows_with_stats(self, vm_ids, at):
        from console.ovirt.rows import row_of, stats_of

        self._call("vm_rows_with_stats")
        found = [vm for vm in self.vms if vm.id in set(vm_ids)]
        return [row_of(vm) for vm in found], {vm.id: stats_of(vm, at) for vm in found}

    def clusters(self):
        self._call("clusters")
        return [Cluster("c1", "Default", "", 3, 200_000), Cluster("c2", "Edge", "", 1, 50_000)]

    def cluster_free_memory_mib(self, name):
        self._call("cluster_free_memory_mib")
        return 200_000

    def find_vm(self, name, *, correlation_id=None):
        self._call("find_vm")
        return next((vm for vm in self.vms if vm.name == name), None)

    def storage_domains(self):
        self._call("storage_domains")
        return [StorageDomain("sd1", "data", 2000, 500)]


class FixedServices:
    def __init__(self, engine):
        from console.secrets import MemorySecretStore

        self._engine = engine
        self.actor = "tester@ci"
        self.secrets = MemorySecretStore()  # the license vault's keys (none in the showcase)

    def engine(self, name=None):
        return self._engine

    def runner(self, on_event=None):
        raise RuntimeError("the showcase engine does not provision; use vps-console demo")

    def billing(self):
        return None


def seed_orders(store, now=FROZEN_NOW) -> list[Order]:
    rows = [
        ("1001", "Anna Novak", "Acme Hosting Ltd", "VPS Windows Plesk", 2, 4096, 100, 30, "new"),
        ("1002", "Ben Schmidt", "", "VPS Linux cPanel", 2, 4096, 80, 5 * 60, "new"),
        ("1003", "Chloe Rossi", "Pixel & Co", "VPS Linux Plesk", 4, 8192, 160, 26 * 60, "new"),
        ("1004", "Dario Silva", "", "Dedicated Game Server", None, None, None, 90, "needs_mapping"),
        (
            "1005",
            "Emre Yilmaz",
            "Nordwind GmbH",
            "VPS Linux cPanel",
            1,
            2048,
            40,
            12,
            "provisioning",
        ),
        ("1006", "Fatima Berg", "", "VPS Windows Plesk", 4, 8192, 200, 8 * 60, "failed"),
    ]
    orders = []
    with store.session() as session:
        for oid, client, company, product, cpus, mem, disk, minutes, status in rows:
            order = Order(
                id=oid,
                source="whmcs",
                service_id=str(int(oid) + 5000),
                client_name=client,
                client_company=company,
                client_email=f"{client.split()[0].lower()}@example.net",
                product_name=product,
                cpus=cpus,
                memory_mib=mem,
                disk_gib=disk,
                status=status,
                created_at=now - timedelta(minutes=minutes),
                paid_at=now - timedelta(minutes=minutes),
                updated_at=now,
                problem=(
                    "product 'Dedicated Game Server' is not mapped to a template"
                    if status == "needs_mapping"
                    else None
                ),
                claimed_by="ops@jump1" if status in ("provisioning", "failed") else None,
            )
            session.add(order)
            orders.append(order)
        session.flush()
        session.add(
            Job(
                id="job-0005-aaaa",
                order_id="1005",
                engine="lab",
                state="clone_wait",
                vm_name="vps-1005",
                created_at=now - timedelta(minutes=3),
                updated_at=now - timedelta(seconds=20),
                attempts=1,
            )
        )
        session.add(
            Job(
                id="job-0006-bbbb",
                order_id="1006",
                engine="lab",
                state="failed",
                failed_step="starting",
                vm_name="vps-1006",
                attempts=2,
                error_code="engine_rejected",
                error_message="Cannot run VM. There is no host that satisfies current "
                "scheduling constraints.",
                error_hint="free memory on cluster Default or pick the Edge cluster",
                created_at=now - timedelta(hours=2),
                updated_at=now - timedelta(minutes=50),
            )
        )
        session.flush()
        for minutes, actor, action, order_id, job_id, message in SHOWCASE_AUDIT:
            session.add(
                JobEvent(
                    kind="audit",
                    step=action,
                    actor=actor,
                    order_id=order_id,
                    job_id=job_id,
                    message=message,
                    at=now - timedelta(minutes=minutes),
                )
            )
    return orders


SHOWCASE_AUDIT = (  # (minutes ago, actor, action, order, job, message)
    (118, "ops@jump1", "claim", "1006", None, ""),
    (
        118,
        "ops@jump1",
        "launch",
        "1006",
        "job-0006-bbbb",
        "vps-1006 from win2022-plesk v2 on lab/prod-a: 4 vCPU, 8GiB, 200 GiB",
    ),
    (118, "ops@jump1", "license_given", "1006", "job-0006-bbbb", "windows key …-VMK7H"),
    (118, "ops@jump1", "license_given", "1006", "job-0006-bbbb", "plesk key …-JKLMN0"),
    (
        52,
        "ops@jump1",
        "retry",
        "1006",
        "job-0006-bbbb",
        "retry from starting (failed: Cannot "
        "run VM. There is no host that satisfies current scheduling constraints.)",
    ),
    (20, "ann@jump2", "vm_stop", "0977", None, "stop vps-0977"),
    (3, "ops@jump1", "claim", "1005", None, ""),
    (
        3,
        "ops@jump1",
        "launch",
        "1005",
        "job-0005-aaaa",
        "vps-1005 from alma9-cpanel v3 on lab/prod-a: 1 vCPU, 2GiB, 40 GiB",
    ),
)


def seed_catalog(store, templates) -> None:
    """The catalog as the console last read it from the engine (the Templates screen and
    the queue's stale marks start from it)."""
    from sqlmodel import select

    from console.flow.catalog import record_of
    from console.store.catalog import replace_catalog
    from console.store.models import TemplateRecord

    replace_catalog(store, "lab", [record_of(template) for template in templates])
    with store.session() as session:  # read at the frozen clock's time, not the machine's
        for record in session.exec(select(TemplateRecord)).all():
            record.refreshed_at = FROZEN_NOW
            session.add(record)


def showcase_context(store, *, read_only: bool = False, engine=None):
    """A console context on `store` (seeded here), the fixed engine and the frozen clock."""
    from console.tui.context import ConsoleContext

    seed_orders(store)
    seed_catalog(store, (engine or FixedEngine()).templates)
    return ConsoleContext(
        config=make_config(),
        store=store,
        services=FixedServices(engine or FixedEngine()),
        actor="tester@ci",
        live=False,
        read_only=read_only,
        clock=lambda: FROZEN_NOW,
    )
