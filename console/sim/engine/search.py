"""The engine's search language, as far as clients of this product use it.

``name=web* and status=up or tag=gold sortby name desc page 2``: conditions
``field op value`` (ops ``= != > < >= <=``, ``*`` wildcards, quoted values),
joined by ``and`` (binds tighter) and ``or``, with parentheses. A leading
``Vms:`` style prefix is accepted. Matching is case-insensitive unless
``case_sensitive=true``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<paren>[()])
      | (?P<cond>(?P<field>[A-Za-z_][\w.]*)\s*(?P<op>!=|>=|<=|=|>|<)\s*(?P<value>"[^"]*"|[^\s()"]+))
      | (?P<word>[^\s()]+)
    )""",
    re.VERBOSE,
)

FieldGetter = Callable[[Any, str], Iterable[str] | None]


@dataclass
class Condition:
    field: str
    op: str
    value: str


@dataclass
class Query:
    expr: Any  # nested ("and"|"or", [...]) tuples or Condition, or None for "everything"
    sort_by: str | None = None
    descending: bool = False
    page: int | None = None


class InvalidSearch(Exception):
    """A query the engine's SyntaxChecker refuses.

    The engine does not answer with a fault: SearchQuery.initQueryData only sets the
    query's exception string (the query still "succeeds"), so the REST layer's
    getBackendCollection returns an empty collection with 200.
    """


def invalid() -> Exception:
    return InvalidSearch()


def parse(text: str) -> Query:
    text = re.sub(r"^\s*\w+\s*:\s*", "", text or "")  # "Vms: name=x"
    tokens: list[Any] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            if text[pos:].strip() == "":
                break
            raise invalid()
        pos = m.end()
        if m.group("paren"):
            tokens.append(m.group("paren"))
        elif m.group("cond"):
            value = m.group("value")
            if value.startswith('"'):
                value = value[1:-1]
            tokens.append(Condition(m.group("field").lower(), m.group("op"), value))
        else:
            tokens.append(m.group("word").lower())
    query = Query(None)
    # Trailing "sortby field [asc|desc]" and "page N".
    if "page" in tokens:
        i = tokens.index("page")
        try:
            query.page = int(tokens[i + 1])
        except (IndexError, ValueError):
            raise invalid() from None
        del tokens[i : i + 2]
    if "sortby" in tokens:
        i = tokens.index("sortby")
        rest = tokens[i + 1 :]
        if not rest or not isinstance(rest[0], str):
            raise invalid()
        query.sort_by = rest[0]
        query.descending = len(rest) > 1 and rest[1] == "desc"
        del tokens[i:]
    if tokens:
        expr, end = _parse_or(tokens, 0)
        if end != len(tokens):
            raise invalid()
        query.expr = expr
    return query


def _parse_or(tokens: list[Any], i: int) -> tuple[Any, int]:
    parts = []
    node, i = _parse_and(tokens, i)
    parts.append(node)
    while i < len(tokens) and tokens[i] == "or":
        node, i = _parse_and(tokens, i + 1)
        parts.append(node)
    return (parts[0] if len(parts) == 1 else ("or", parts)), i


def _parse_and(tokens: list[Any], i: int) -> tuple[Any, int]:
    parts = []
    node, i = _parse_atom(tokens, i)
    parts.append(node)
    while i < len(tokens) and tokens[i] not in ("or", ")"):
        if tokens[i] == "and":
            i += 1
        node, i = _parse_atom(tokens, i)
        parts.append(node)
    return (parts[0] if len(parts) == 1 else ("and", parts)), i


def _parse_atom(tokens: list[Any], i: int) -> tuple[Any, int]:
    if i >= len(tokens):
        raise invalid()
    token = tokens[i]
    if token == "(":
        node, i = _parse_or(tokens, i + 1)
        if i >= len(tokens) or tokens[i] != ")":
            raise invalid()
        return node, i + 1
    if isinstance(token, Condition):
        return token, i + 1
    raise invalid()


def _normalise(value: str, case_sensitive: bool) -> str:
    return value if case_sensitive else value.lower()


@functools.lru_cache(maxsize=1024)
def _glob(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    body = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.compile(f"^{body}$", 0 if case_sensitive else re.IGNORECASE)


def _compare(
    actual: str, cond: Condition, case_sensitive: bool, rank: Callable[[str], float] | None
) -> bool:
    if cond.op in ("=", "!="):
        hit = bool(_glob(cond.value, case_sensitive).match(actual))
        return hit if cond.op == "=" else not hit
    try:
        left, right = float(actual), float(cond.value)
    except ValueError:
        if rank is None:
            left, right = _normalise(actual, case_sensitive), _normalise(cond.value, case_sensitive)
        else:
            left, right = rank(actual), rank(cond.value)
    return {">": left > right, "<": left < right, ">=": left >= right, "<=": left <= right}[cond.op]


def matcher(
    query: Query,
    getter: FieldGetter,
    case_sensitive: bool,
    rank: Callable[[str], float] | None = None,
) -> Callable[[Any], bool]:
    """A predicate over entities; ``getter(entity, field)`` gives the field's values (None = unknown field)."""

    def evaluate(node: Any, entity: Any) -> bool:
        if node is None:
            return True
        if isinstance(node, Condition):
            values = getter(entity, node.field)
            if values is None:
                raise invalid()
            values = list(values)
            if node.op == "!=":
                return all(_compare(v, node, case_sensitive, rank) for v in values)
            return any(_compare(v, node, case_sensitive, rank) for v in values)
        kind, parts = node
        if kind == "and":
            return all(evaluate(p, entity) for p in parts)
        return any(evaluate(p, entity) for p in parts)

    return lambda entity: evaluate(query.expr, entity)
