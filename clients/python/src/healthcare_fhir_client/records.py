"""Records in the Python types rapidsms-healthcare's own Django backend returns: dates as
``datetime.date``, timestamps as ``datetime.datetime`` (aware UTC, or naive in the process's local
time, the time ``datetime.now()`` gives, when Django's ``USE_TZ`` is off), everything else as the
facade sent it."""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, Mapping

DATE_FIELDS = frozenset({"birth_date", "death_date"})
TIMESTAMP_FIELDS = frozenset({"created_date", "updated_date"})


def parse_timestamp(value: str) -> dt.datetime:
    """``2026-11-26T08:19:04.123Z`` → an aware UTC ``datetime`` (Python 3.9's ``fromisoformat``
    does not take the ``Z``)."""
    text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    parsed = dt.datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp without a time zone: {value!r}")
    return parsed.astimezone(dt.timezone.utc)


def to_python(record: Mapping[str, Any], naive_local: bool = False) -> Dict[str, Any]:
    """A copy of ``record`` with its dates and timestamps parsed; with ``naive_local``, timestamps
    are made naive in the process's local time, as ``datetime.now()`` is (Django with
    ``USE_TZ = False`` makes its own naive "now" that way, whatever its ``TIME_ZONE``)."""
    result = dict(record)
    for field in DATE_FIELDS.intersection(result):
        if isinstance(result[field], str):
            result[field] = dt.date.fromisoformat(result[field])
    for field in TIMESTAMP_FIELDS.intersection(result):
        if isinstance(result[field], str):
            stamp = parse_timestamp(result[field])
            result[field] = stamp.astimezone().replace(tzinfo=None) if naive_local else stamp
    return result
