"""``FacadeStorage`` under Django's ``USE_TZ = False``, through the facade on the real HAPI server:
naive timestamps are in the process's local time (what ``datetime.now()`` and Django's own naive
"now" give), not in Django's ``TIME_ZONE``. The local zone (``TZ``, UTC+14) and ``TIME_ZONE``
(UTC-11) are 25 hours apart, so their dates always differ and a timestamp in the wrong one shows."""

from __future__ import annotations

import datetime as dt
from typing import Callable, Iterator

import pytest
from django.conf import settings
from django.utils import timezone

from healthcare_fhir_client.backend import FacadeStorage

LOCAL_TZ = "UTC-14"  # POSIX: 14 hours east of UTC
DJANGO_TIME_ZONE = "Etc/GMT+11"  # IANA: 11 hours west of UTC
# the facade's clock is the FHIR server's (same machine in the tests); room for a slow request
SLACK = dt.timedelta(seconds=30)


@pytest.fixture
def django_without_tz(
    monkeypatch: pytest.MonkeyPatch, local_time_zone: Callable[[str], None]
) -> Iterator[None]:
    """``USE_TZ = False`` with ``TIME_ZONE`` set to another zone than the process's local one, as
    ``settings.configure`` leaves it (only a settings module makes Django set ``TZ`` from it)."""
    local_time_zone(LOCAL_TZ)
    monkeypatch.setattr(settings, "USE_TZ", False)
    monkeypatch.setattr(settings, "TIME_ZONE", DJANGO_TIME_ZONE)
    timezone.get_default_timezone.cache_clear()
    yield
    monkeypatch.undo()
    timezone.get_default_timezone.cache_clear()


def test_the_local_and_django_dates_differ(django_without_tz: None) -> None:
    assert dt.datetime.now(timezone.get_current_timezone()).date() != dt.date.today()


@pytest.mark.parametrize("model", ["patient", "provider"])
def test_without_use_tz_created_records_carry_naive_local_timestamps(
    django_without_tz: None, marker: str, model: str
) -> None:
    storage = FacadeStorage()
    before = dt.datetime.now()
    record = getattr(storage, f"create_{model}")({"name": f"Naive {marker}"})
    after = dt.datetime.now()
    for field in ("created_date", "updated_date"):
        stamp = record[field]
        assert stamp.tzinfo is None, field
        assert before - SLACK <= stamp <= after + SLACK, f"{field} {stamp} not near {before}"
        assert stamp.date() in (before.date(), after.date()), field  # the seed's date.today() check
    assert getattr(storage, f"get_{model}")(record["id"]) == record


@pytest.mark.parametrize("model", ["patient", "provider"])
def test_without_use_tz_naive_lookups_are_read_in_local_time(
    django_without_tz: None, marker: str, model: str
) -> None:
    storage = FacadeStorage()
    before = dt.datetime.now() - SLACK
    record = getattr(storage, f"create_{model}")({"name": f"Naive {marker}"})
    after = dt.datetime.now() + SLACK
    found = getattr(storage, f"filter_{model}s")(
        ("name", "%", marker), ("created_date", ">=", before), ("created_date", "<=", after)
    )
    assert [r["id"] for r in found] == [record["id"]]
    assert getattr(storage, f"filter_{model}s")(("name", "%", marker), ("created_date", "<", before)) == []
