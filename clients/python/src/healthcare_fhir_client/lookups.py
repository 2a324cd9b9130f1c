"""Lookups as the facade takes them: the seed's ``(field, operator, value)`` triples and its
Django-style keywords (``name__like='Jo'``), with Python ``date``/``datetime`` values encoded
as the contract's strings, and the choice between a query string and ``POST …/_search``."""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

EQUAL = "=="
LIKE = "%"
IN = "in"
LT = "<"
LTE = "<="
GT = ">"
GTE = ">="

Lookup = Tuple[str, str, Any]

# The seed's keyword suffixes (healthcare.api.CategoryWrapper._lookup_mapping).
_SUFFIX_OPERATORS: Mapping[str, str] = {
    "": EQUAL,
    "exact": EQUAL,
    "like": LIKE,
    "in": IN,
    "lt": LT,
    "lte": LTE,
    "gt": GT,
    "gte": GTE,
}
_OPERATOR_SUFFIXES: Mapping[str, str] = {
    EQUAL: "",
    LIKE: "__like",
    IN: "__in",
    LT: "__lt",
    LTE: "__lte",
    GT: "__gt",
    GTE: "__gte",
}

# Longer lookups go as POST …/_search, well below the facade's ~16 KB request-line limit.
_MAX_QUERY_LENGTH = 2000


def encode_value(value: Any) -> Any:
    """A lookup or record value as JSON: a ``date`` as ``YYYY-MM-DD``, an aware ``datetime`` as
    UTC ISO 8601 with milliseconds, a list/tuple/set element-wise; anything else unchanged
    (the facade validates it). A naive ``datetime`` is refused: its instant is unknown."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
            raise ValueError(
                f"naive datetime {value.isoformat()} has no time zone; give it a tzinfo "
                "(e.g. datetime.timezone.utc) so the facade knows which instant it is"
            )
        utc = value.astimezone(dt.timezone.utc)
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (list, tuple, set, frozenset)):
        return [encode_value(v) for v in value]
    return value


def keyword_lookups(keywords: Mapping[str, Any]) -> List[Lookup]:
    """``{'name__like': 'Jo'}`` → ``[('name', '%', 'Jo')]``, splitting like the seed's client API."""
    lookups: List[Lookup] = []
    for key, value in keywords.items():
        parts = key.split("__")
        suffix = parts[-1] if len(parts) > 1 else ""
        operator = _SUFFIX_OPERATORS.get(suffix)
        if operator is None:
            raise ValueError(f"invalid lookup type {suffix!r} in {key!r}")
        lookups.append((parts[0], operator, value))
    return lookups


def encode_lookups(lookups: Sequence[Lookup]) -> List[List[Any]]:
    """The ``lookups`` of a ``_search`` body."""
    encoded: List[List[Any]] = []
    for lookup in lookups:
        if not isinstance(lookup, (list, tuple)) or len(lookup) != 3:
            raise ValueError(f"a lookup is a (field, operator, value) triple, not {lookup!r}")
        field, operator, value = lookup
        encoded.append([field, operator, encode_value(value)])
    return encoded


def query_params(lookups: Sequence[List[Any]]) -> Optional[List[Tuple[str, str]]]:
    """The query string for encoded lookups, or ``None`` when it cannot say exactly the same
    thing as the ``_search`` body (an empty IN list, a value that is not a string, an unknown
    operator) or would be too long."""
    params: List[Tuple[str, str]] = []
    for field, operator, value in lookups:
        suffix = _OPERATOR_SUFFIXES.get(operator) if isinstance(operator, str) else None
        if suffix is None or not isinstance(field, str):
            return None
        values = value if operator == IN else [value]
        if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
            return None
        params.extend((field + suffix, v) for v in values)
    if sum(len(k) + len(v) * 3 + 2 for k, v in params) > _MAX_QUERY_LENGTH:
        return None
    return params


def all_lookups(lookups: Sequence[Lookup], keywords: Dict[str, Any]) -> List[List[Any]]:
    """Triples and keywords together, encoded."""
    return encode_lookups([*lookups, *keyword_lookups(keywords)])
