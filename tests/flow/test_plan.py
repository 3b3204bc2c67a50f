from datetime import UTC, datetime

import pytest

from console.config import CatalogConfig, Config, EngineConfig, ProductMapping
from console.flow.plan import Overrides, Plan, check_hostname, draft_plan
from console.ovirt.models import Cluster, Template
from console.store.models import Order

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def tpl(
    name, version=1, *, os_type="rhel_9x64", apps=(), cpus=2, memory=2048, disk=40, windows=False
):
    return Template(
        id=f"{name}-v{version}",
        name=name,
        version_number=version,
        version_name="",
        os_type=os_type,
        description="",
        apps=tuple(apps),
        cpus=cpus,
        memory_mib=memory,
        disk_gib=disk,
        created_at=NOW,
        status="ok",
        is_windows=windows,
    )


TEMPLATES = [
    tpl("alma9-cpanel", 1, apps=["cpanel"]),
    tpl("alma9-cpanel", 2, apps=["cpanel"]),
    tpl("alma9-cpanel", 3, apps=["cpanel"]),
    tpl("alma9", 1, cpus=1, memory=1024, disk=20),
    tpl(
        "win2022-plesk",
        1,
        os_type="windows_2022",
        apps=["plesk"],
        memory=4096,
        disk=60,
        windows=True,
    ),
    tpl(
        "win2022-plesk",
        2,
        os_type="windows_2022",
        apps=["plesk"],
        memory=4096,
        disk=60,
        windows=True,
    ),
]
CPANEL = ProductMapping(
    billing_product="VPS cPanel",
    template="alma9-cpanel",
    cpus=2,
    memory_mib=4096,
    disk_gib=80,
    max_cpus=8,
    max_memory_mib=16384,
    max_disk_gib=400,
    license_kinds=("cpanel",),
)
WINPLESK = ProductMapping(
    billing_product="VPS Windows Plesk",
    template="win2022-plesk",
    cpus=2,
    memory_mib=4096,
    disk_gib=80,
)
CONFIG = Config(
    engines=(
        EngineConfig(name="sim", url="http://127.0.0.1:1/ovirt-engine/api", cluster="prod-a"),
    ),
    catalog=CatalogConfig(products=(CPANEL, WINPLESK)),
)


def order(**kw):
    base = dict(id="2001", source="manual", product_name="VPS cPanel", service_id="501")
    base.update(kw)
    return Order(**base)


def test_a_mapped_order_gets_a_complete_plan_on_the_latest_version():
    draft = draft_plan(order(), CPANEL, TEMPLATES, CONFIG)
    assert draft.problems == []
    plan = draft.plan
    assert (plan.template_name, plan.template_version, plan.template_id) == (
        "alma9-cpanel",
        3,
        "alma9-cpanel-v3",
    )
    assert (plan.cpus, plan.memory_mib, plan.guaranteed_mib, plan.disk_gib) == (2, 4096, 4096, 80)
    assert plan.vm_name == "vps-2001" and plan.hostname == "2001.vps.example.net"
    assert plan.init_kind == "cloud-init" and plan.admin_user == "root"
    assert plan.cluster == "prod-a" and plan.engine == "sim" and plan.service_id == "501"
    assert plan.license_kinds == ("cpanel",) and plan.key_kinds == ()
    assert draft.recommended_templates[0].version_number == 3


def test_order_resources_win_over_product_defaults_and_overrides_win_over_both():
    draft = draft_plan(
        order(cpus=4, memory_mib=8192, disk_gib=100),
        CPANEL,
        TEMPLATES,
        CONFIG,
        Overrides(cpus=6, hostname="Shop.Example.COM", version=2),
    )
    plan = draft.plan
    assert (plan.cpus, plan.memory_mib, plan.disk_gib) == (6, 8192, 100)
    assert plan.hostname == "shop.example.com" and plan.template_version == 2


def test_windows_plesk_needs_two_keys_and_sysprep():
    draft = draft_plan(
        order(product_name="VPS Windows Plesk"),
        WINPLESK,
        TEMPLATES,
        CONFIG,
        Overrides(hostname="win-2001.example.net"),
    )
    assert draft.problems == []
    assert draft.required_license_kinds == ("windows", "plesk")
    plan = draft.plan
    assert plan.init_kind == "sysprep" and plan.admin_user == "Administrator"
    assert plan.key_kinds == ("windows", "plesk")


@pytest.mark.parametrize(
    "overrides, field, words",
    [
        (Overrides(cpus=9), "cpus", "limit of 8"),
        (Overrides(cpus=1), "cpus", "below the template's 2"),
        (Overrides(memory_mib=1024), "memory", "below the template's 2GiB"),
        (Overrides(memory_mib=32768), "memory", "limit of 16GiB"),
        (Overrides(memory_mib=4000), "memory", "multiple of 256"),
        (Overrides(guaranteed_mib=8192), "guaranteed_memory", "exceeds"),
        (Overrides(disk_gib=30), "disk", "disks can only grow"),
        (Overrides(disk_gib=500), "disk", "limit of 400"),
        (Overrides(hostname="bad_name.example.net"), "hostname", "letters, digits and hyphens"),
        (Overrides(hostname="-x.example.net"), "hostname", "hyphen"),
        (Overrides(version=7), "template.version", "no version 7"),
        (Overrides(template="debian12"), "template", "no template named 'debian12'"),
        (Overrides(ssh_keys=("not a key",)), "ssh_keys[0]", "OpenSSH"),
    ],
)
def test_each_bad_value_names_its_field_and_a_fix(overrides, field, words):
    draft = draft_plan(order(), CPANEL, TEMPLATES, CONFIG, overrides)
    problems = [p for p in draft.problems if p.field == field]
    assert problems, draft.problems
    assert words in problems[0].message and problems[0].fix


def test_windows_computer_name_limit():
    problem = check_hostname("customer-shop-01.example.net", windows=True)
    assert problem and "15" in problem.message
    assert check_hostname("customer-shop-01.example.net") is None


def test_unmapped_product_says_how_to_map_it_and_still_recommends():
    draft = draft_plan(order(product_name="Mystery box"), None, TEMPLATES, CONFIG)
    assert draft.plan is None
    assert draft.problems[0].field == "product"
    assert 'billing_product = "Mystery box"' in draft.problems[0].fix
    assert {t.name for t in draft.recommended_templates} == {
        "alma9-cpanel",
        "alma9",
        "win2022-plesk",
    }
    chosen = draft_plan(
        order(product_name="Mystery box"), None, TEMPLATES, CONFIG, Overrides(template="alma9")
    )
    assert chosen.problems == [] and chosen.plan.template_name == "alma9"


def test_cluster_falls_back_to_the_roomiest_one_when_none_is_configured():
    config = Config(
        engines=(EngineConfig(name="sim", url="http://127.0.0.1:1/api"),), catalog=CONFIG.catalog
    )
    clusters = [
        Cluster("a", "prod-a", free_memory_mib=100),
        Cluster("b", "prod-b", free_memory_mib=900),
    ]
    assert (
        draft_plan(order(), CPANEL, TEMPLATES, config, clusters=clusters).plan.cluster == "prod-b"
    )
    bad = draft_plan(
        order(), CPANEL, TEMPLATES, config, Overrides(cluster="nope"), clusters=clusters
    )
    assert bad.problems[0].field == "cluster"


def test_plan_round_trips_through_a_dict_without_secrets():
    plan = draft_plan(order(), CPANEL, TEMPLATES, CONFIG).plan
    data = plan.to_dict()
    assert Plan.from_dict(data) == plan
    assert "password" not in str(data).lower()
    assert Plan.from_dict({**data, "unknown_future_field": 1}) == plan
