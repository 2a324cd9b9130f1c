"""Unit tests of the value conversions: Python values → the contract's strings (lookups, record
data), and records → the seed's Python types. No server involved."""

from __future__ import annotations

import datetime as dt
from typing import Callable

import pytest

from healthcare_fhir_client.lookups import encode_value, keyword_lookups, query_params
from healthcare_fhir_client.records import parse_timestamp, to_python

UTC = dt.timezone.utc


def test_date_is_encoded_as_iso_date_and_datetime_as_utc_with_milliseconds() -> None:
    assert encode_value(dt.date(1, 2, 3)) == "0001-02-03"
    kigali = dt.timezone(dt.timedelta(hours=2))
    assert encode_value(dt.datetime(2024, 1, 1, 1, 30, 5, 123999, tzinfo=kigali)) == "2023-12-31T23:30:05.123Z"
    assert encode_value([dt.date(2020, 1, 1), "x"]) == ["2020-01-01", "x"]
    assert encode_value(("a", "b")) == ["a", "b"]


def test_naive_datetime_cannot_be_encoded() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        encode_value(dt.datetime(2020, 1, 1))


def test_keywords_split_like_the_seed_client_api() -> None:
    assert keyword_lookups({"name": "Jo", "name__exact": "J", "birth_date__gte": 1, "sex__in": ["M"]}) == [
        ("name", "==", "Jo"),
        ("name", "==", "J"),
        ("birth_date", ">=", 1),
        ("sex", "in", ["M"]),
    ]
    with pytest.raises(ValueError, match="'startswith'"):
        keyword_lookups({"name__startswith": "J"})


def test_query_string_only_when_it_says_the_same_as_the_search_body() -> None:
    assert query_params([["name", "%", "Jo"], ["sex", "in", ["M", "F"]]]) == [
        ("name__like", "Jo"),
        ("sex__in", "M"),
        ("sex__in", "F"),
    ]
    assert query_params([["sex", "in", []]]) is None  # no parameter would mean "every record"
    assert query_params([["status", "==", None]]) is None  # JSON null is not the string "None"
    assert query_params([["name", "~", "x"]]) is None  # the facade names the bad operator
    assert query_params([["name", "in", ["x" * 100] * 30]]) is None  # too long for a URL


def test_records_get_dates_and_aware_utc_timestamps() -> None:
    record = {
        "id": "1",
        "birth_date": "1990-05-17",
        "death_date": None,
        "created_date": "2026-11-26T08:19:04.123Z",
        "updated_date": "2026-11-26T08:19:05.000Z",
        "name": "2020-01-01",
    }
    converted = to_python(record)
    assert converted["birth_date"] == dt.date(1990, 5, 17)
    assert converted["death_date"] is None
    assert converted["created_date"] == dt.datetime(2026, 11, 26, 8, 19, 4, 123000, tzinfo=UTC)
    assert converted["name"] == "2020-01-01"
    assert record["birth_date"] == "1990-05-17"  # the input is not changed


def test_naive_local_timestamps_are_in_the_process_local_time(
    local_time_zone: Callable[[str], None],
) -> None:
    local_time_zone("UTC-14")  # POSIX: 14 hours east of UTC
    converted = to_python({"updated_date": "2026-11-26T23:00:00.000Z"}, naive_local=True)
    assert converted["updated_date"] == dt.datetime(2026, 11, 27, 13, 0)


def test_timestamp_without_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        parse_timestamp("2026-11-26T08:19:04.123")
