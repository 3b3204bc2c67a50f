"""The store's updates of one row: set and merge in one commit (`update_row`), and the
compare-and-set every claim, lease and state move is decided by.

An UPDATE whose WHERE says "the row is still what I read" (its state, its holder, its
lease): of two writers racing on one row, one changes it and the other changes nothing,
on SQLite (writers are serialised) and on PostgreSQL (the second UPDATE waits for the
first's commit, then re-checks its WHERE against the new row) alike.

Claiming the oldest row of a stock (`claim_oldest`) is the same UPDATE on the row an
inner SELECT picks; on PostgreSQL that SELECT skips the rows another transaction has
locked (FOR UPDATE SKIP LOCKED), so racing claimers spread over the stock instead of
queueing on one row, and one that finds the picked row gone tries the next.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import ColumnElement, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, SQLModel

from console.errors import ConsoleError
from console.store.db import Store, changed_one
from console.store.models import merge_data, utcnow

M = TypeVar("M", bound=SQLModel)


class Record(Protocol):
    """A row with a JSON `data` column and the time of its last change."""

    data: dict[str, Any]
    updated_at: datetime


R = TypeVar("R", bound=Record)


def update_row(
    store: Store,
    model: type[R],
    key: str,
    *,
    what: str,
    data: dict[str, Any] | None = None,
    change: Callable[[R], None] | None = None,
    also: Sequence[SQLModel] = (),
    **values: Any,
) -> R:
    """Set columns, merge keys into `data` (None removes one), let `change` do the rest,
    stamp `updated_at`, add the rows `also` (e.g. the events that say so): one commit.
    `what` names the row in the error when it is gone."""
    with store.session() as session:
        row = session.get(model, key)
        if row is None:
            raise ConsoleError(f"no {what} {key}")
        for name, value in values.items():
            setattr(row, name, value)
        if data:
            row.data = merge_data(row.data, data)
        if change is not None:
            change(row)
        row.updated_at = utcnow()
        session.add(row)
        session.add_all(list(also))
    return row


def set_if(
    session: Session,
    model: type[SQLModel],
    still: Sequence[ColumnElement[bool]],
    values: Mapping[str, Any],
) -> bool:
    """UPDATE `model` SET `values` WHERE all of `still`, in the caller's transaction:
    whether it changed exactly one row."""
    return changed_one(session.execute(update(model).where(*still).values(**values)))


def update_if(
    store: Store,
    model: type[SQLModel],
    still: Sequence[ColumnElement[bool]],
    values: Mapping[str, Any],
) -> bool:
    """`set_if` in a transaction of its own, committed before it returns."""
    with store.session() as session:
        return set_if(session, model, still, values)


def claim_oldest(
    store: Store,
    model: type[M],
    *,
    key: Any,
    stock: Sequence[ColumnElement[bool]],
    order_by: Sequence[Any],
    values: Mapping[str, Any],
    stamped: Sequence[str] = (),
    on_taken: Callable[[Session, M], None] | None = None,
) -> M | None:
    """Move the first row of `stock` (in `order_by`) out of it with `values` (and the
    columns named in `stamped` set to the moment of the claim), and return it; None when
    the stock is empty. `key` is the row's primary-key column, `stock` what
    makes a row claimable (the UPDATE re-checks it). `on_taken` writes in the same
    transaction (an audit line), so a claim never exists without it. Exactly one caller
    wins each row; errors (an IntegrityError from a unique index) go to the caller, with
    nothing claimed."""
    first = sa_select(key).where(*stock).order_by(*order_by).limit(1)
    first = first.with_for_update(skip_locked=True)
    while True:
        with store.session() as session:
            now = utcnow()
            taken = session.execute(
                update(model)
                .where(key == first.scalar_subquery(), *stock)
                .values(**values, **dict.fromkeys(stamped, now))
                .returning(key)
            ).scalar_one_or_none()
            if taken is not None:
                row = session.get(model, taken)
                assert row is not None  # changed by this very transaction
                if on_taken is not None:
                    on_taken(session, row)
                return row
            if session.execute(sa_select(key).where(*stock).limit(1)).first() is None:
                return None
            # Another transaction took (or holds locked) the first row: try the next.


__all__ = ["Record", "claim_oldest", "set_if", "update_if", "update_row"]
