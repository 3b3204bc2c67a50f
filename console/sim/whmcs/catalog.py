"""Seed data of the simulated WHMCS: clients, VPS products and their options.

Each product spells its configurable options differently on purpose, the way
real WHMCS installs do (``cpu|CPU Cores`` = ``2|2 vCPU``, ``RAM`` = ``4 GB``,
``Memory`` = ``4096 MB``, ``Disk`` = ``100G`` ...), so the product's mapping
code meets the variety it will meet in production.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class OptionDef:
    """A configurable option of a product: its name and the values on offer."""

    id: int
    name: str
    values: tuple[str, ...]
    type: str = "dropdown"


@dataclass(frozen=True)
class CustomFieldDef:
    id: int
    name: str
    values: tuple[str, ...] = ()  # empty: free text (e.g. a hostname)


@dataclass(frozen=True)
class ProductDef:
    pid: int
    name: str
    groupname: str
    price: str
    options: tuple[OptionDef, ...] = ()
    customfields: tuple[CustomFieldDef, ...] = ()
    weight: int = 10  # relative share of generated orders


@dataclass
class Client:
    id: int
    firstname: str
    lastname: str
    email: str
    companyname: str = ""
    status: str = "Active"
    notes: list[dict] = field(default_factory=list)


PRODUCTS: tuple[ProductDef, ...] = (
    ProductDef(
        1,
        "VPS Linux cPanel",
        "VPS",
        "29.00",
        options=(
            OptionDef(11, "cpu|CPU Cores", ("1|1 vCPU", "2|2 vCPU", "4|4 vCPU")),
            OptionDef(12, "ram|RAM", ("2048|2 GB", "4096|4 GB", "8192|8 GB")),
            OptionDef(13, "disk|Disk Space", ("40|40 GB", "80|80 GB", "160|160 GB")),
        ),
        weight=20,
    ),
    ProductDef(
        2,
        "VPS Linux Plesk",
        "VPS",
        "34.00",
        options=(
            OptionDef(21, "vCPU", ("2", "4", "6")),
            OptionDef(22, "Memory", ("4 GB", "8 GB", "16 GB")),
            OptionDef(23, "Disk Space", ("80 GB", "160 GB", "320 GB")),
        ),
        # Free text the customer types at checkout: what a shop asks for, not what it bills.
        customfields=(
            CustomFieldDef(201, "Anything else? (cores, RAM, storage wishes)"),
            CustomFieldDef(202, "Disk size wanted"),
        ),
        weight=15,
    ),
    ProductDef(
        3,
        "VPS Windows Plesk",
        "VPS Windows",
        "49.00",
        options=(
            OptionDef(31, "CPU Cores", ("2 Cores", "4 Cores")),
            OptionDef(32, "RAM", ("4096 MB", "8192 MB")),
            OptionDef(33, "Disk", ("100G", "200G")),
        ),
        weight=10,
    ),
    ProductDef(
        4,
        "VPS Windows MSSQL",
        "VPS Windows",
        "99.00",
        options=(
            OptionDef(41, "CPU", ("4", "8")),
            OptionDef(42, "RAM", ("16G", "32G")),
            OptionDef(43, "SSD Storage", ("200 GB", "400 GB")),
        ),
        weight=6,
    ),
    ProductDef(
        5,
        "VPS Linux Bare",
        "VPS",
        "15.00",
        options=(
            OptionDef(51, "cpu|CPU Cores", ("1|1 vCPU", "2|2 vCPU")),
            OptionDef(52, "ram|RAM", ("1024|1 GB", "2048|2 GB", "4096|4 GB")),
            OptionDef(53, "disk|Disk Space", ("20|20 GB", "40|40 GB")),
        ),
        customfields=(CustomFieldDef(501, "Operating System", ("AlmaLinux 9", "Ubuntu 22.04")),),
        weight=20,
    ),
    ProductDef(
        6,
        "VPS Legacy CentOS cPanel",
        "VPS Legacy",
        "25.00",
        options=(
            OptionDef(61, "CPU Cores", ("2",)),
            OptionDef(62, "RAM", ("4G", "2G")),
            OptionDef(63, "Disk Space", ("60 GB",)),
        ),
        weight=4,
    ),
    ProductDef(
        7,
        "Dedicated Game Server",
        "Game Servers",
        "59.00",
        options=(
            OptionDef(71, "Slots", ("32", "64")),
            OptionDef(72, "Game", ("Minecraft", "Valheim")),
        ),
        weight=5,
    ),
)

# Values a careless admin typed into free-text options: the product must flag
# these as "needs mapping", never guess a size from them.
MALFORMED_RAM = ("lots", "4 GB?", "")

FIRST_NAMES = (
    "Anna",
    "Ben",
    "Chloe",
    "Dario",
    "Emre",
    "Fatima",
    "Goran",
    "Hana",
    "Ivo",
    "Julia",
    "Kai",
    "Lena",
    "Marek",
    "Nora",
    "Olu",
    "Priya",
)
LAST_NAMES = (
    "Novak",
    "Schmidt",
    "Rossi",
    "Kowalski",
    "Dubois",
    "Silva",
    "Yilmaz",
    "Jansen",
    "Horvat",
    "Berg",
    "Costa",
    "Meyer",
)
COMPANIES = (
    "",
    "",
    "Acme Hosting Ltd",
    "Blue Fjord AS",
    "Nordwind GmbH",
    "Pixel & Co",
    "",
    "Lakeside Studio",
)
PAYMENT_METHODS = ("stripe", "paypal", "banktransfer")


def choice_id(option: OptionDef, index: int) -> int:
    """The id of an option's index-th choice, what AddOrder's ``configoptions`` carries
    (WHMCS numbers them in tblproductconfigoptionssub; the simulator derives them)."""
    return option.id * 100 + index + 1


def product_by_pid(pid: int) -> ProductDef | None:
    for product in PRODUCTS:
        if product.pid == pid:
            return product
    return None


def product_by_name(name: str) -> ProductDef | None:
    for product in PRODUCTS:
        if product.name.lower() == name.lower():
            return product
    return None
