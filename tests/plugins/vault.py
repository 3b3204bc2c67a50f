"""License-vault fixtures: a store on SQLite and on PostgreSQL, and valid keys on demand."""

from __future__ import annotations

import random

import pytest

from console.flow.licenses import PRODUCT_KEY_ALPHABET
from console.store.db import open_store


def product_key(seed: int) -> str:
    """A well-formed Windows / SQL Server product key, different for every seed."""
    chars = random.Random(f"product-{seed}").choices(PRODUCT_KEY_ALPHABET, k=25)
    return "-".join("".join(chars[i : i + 5]) for i in range(0, 25, 5))


def plesk_code(seed: int) -> str:
    """A well-formed Plesk activation code, different for every seed."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    chars = random.Random(f"plesk-{seed}").choices(alphabet, k=30)
    return "-".join("".join(chars[i : i + 6]) for i in range(0, 30, 6))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request, tmp_path) -> str:
    """A fresh store URL, once on an SQLite file and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'vault.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def vault_store(store_url):
    opened = open_store(store_url)
    yield opened
    opened.close()
