"""``Client`` against the real facade on the real HAPI FHIR server (see conftest for the facades)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from conftest import FACADE_TOKEN, FACADE_URL, RequestLog
from healthcare_fhir_client import (
    EQUAL,
    GTE,
    IN,
    LIKE,
    LT,
    Client,
    FacadeUnreachable,
    LinkConflict,
    NotFound,
    Unauthorized,
    UpstreamTimeout,
    UpstreamUnavailable,
    ValidationError,
)

PATIENT_FIELDS = {
    "id", "name", "sex", "birth_date", "death_date", "location", "status", "created_date", "updated_date",
}  # fmt: skip


def test_create_returns_every_field_and_get_returns_the_same_record(client: Client, marker: str) -> None:
    created = client.patients.create({"name": f"Ada {marker}", "sex": "F", "birth_date": dt.date(1815, 12, 10)})
    assert set(created) == PATIENT_FIELDS
    assert created["birth_date"] == "1815-12-10"
    assert created["status"] == "A" and created["location"] is None
    assert client.patients.get(created["id"]) == created


def test_update_returns_the_record_with_the_change_and_none_clears_a_field(client: Client, marker: str) -> None:
    created = client.patients.create({"name": f"Bo {marker}", "location": "Kigali"})
    updated = client.patients.update(created["id"], {"location": None, "death_date": dt.date(2020, 2, 29)})
    assert updated["location"] is None
    assert updated["death_date"] == "2020-02-29"
    assert updated["name"] == created["name"]
    assert updated["updated_date"] > created["updated_date"]
    assert client.patients.get(created["id"]) == updated


def test_delete_removes_the_record_and_a_second_delete_is_not_found(client: Client, marker: str) -> None:
    created = client.providers.create({"name": f"Dr {marker}"})
    assert client.providers.delete(created["id"]) is None
    with pytest.raises(NotFound):
        client.providers.get(created["id"])
    with pytest.raises(NotFound):
        client.providers.delete(created["id"])


def test_missing_record_raises_not_found_with_the_problem_details(client: Client) -> None:
    with pytest.raises(NotFound) as raised:
        client.patients.get("no-such-patient-py")
    assert raised.value.status == 404
    assert raised.value.problem_type == "urn:healthcare-fhir:problem:not-found"
    with pytest.raises(NotFound):
        client.patients.update("no-such-patient-py", {"name": "X"})


def test_path_like_ids_are_one_escaped_segment_and_not_found(client: Client) -> None:
    for id in ("a/b", "../patients", "?x=1", "#frag", "x y"):
        with pytest.raises(NotFound) as raised:
            client.patients.get(id)
        assert raised.value.problem_type == "urn:healthcare-fhir:problem:not-found", id


def test_invalid_record_raises_validation_error_naming_the_field_and_writes_nothing(
    client: Client, marker: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        client.patients.create({"name": f"Cy {marker}", "sex": "X"})
    assert raised.value.status == 400
    assert "sex" in [issue.get("field") for issue in raised.value.issues]
    assert "sex" in str(raised.value)
    assert client.patients.filter(name__like=marker) == []


def test_unknown_lookup_field_raises_validation_error(client: Client) -> None:
    with pytest.raises(ValidationError):
        client.patients.filter(shoe_size=42)


def test_unknown_keyword_suffix_is_refused_before_any_request(logged_client: Client, request_log: RequestLog) -> None:
    with pytest.raises(ValueError, match="invalid lookup type 'contains'"):
        logged_client.patients.filter(name__contains="Jo")
    assert request_log.requests == []


def _three_patients(client: Client, marker: str) -> list:
    return [
        client.patients.create({"name": f"Joe {marker}", "sex": "M", "birth_date": dt.date(2001, 1, 1)}),
        client.patients.create({"name": f"Jane {marker}", "sex": "F", "birth_date": dt.date(2010, 6, 15)}),
        client.patients.create({"name": f"Jim {marker}", "sex": "M", "birth_date": None}),
    ]


def ids(records: list) -> set:
    return {r["id"] for r in records}


def test_keyword_filter_with_dates_is_sent_as_a_query_string(
    logged_client: Client, request_log: RequestLog, marker: str
) -> None:
    joe, jane, _jim = _three_patients(logged_client, marker)
    del request_log.requests[:]
    found = logged_client.patients.filter(name__like=marker, birth_date__gte=dt.date(2005, 1, 1))
    assert ids(found) == {jane["id"]}
    found = logged_client.patients.filter(name__like=marker, sex__in=["M"], birth_date__lt=dt.date(2005, 1, 1))
    assert ids(found) == {joe["id"]}
    assert [r.method for r in request_log.requests] == ["GET", "GET"]
    assert request_log.requests[0].url.params.get("birth_date__gte") == "2005-01-01"
    assert request_log.requests[1].url.params.get_list("sex__in") == ["M"]


def test_triple_lookups_give_the_same_records_as_keywords(client: Client, marker: str) -> None:
    joe, jane, jim = _three_patients(client, marker)
    assert ids(client.patients.filter(("name", LIKE, marker))) == ids([joe, jane, jim])
    assert ids(client.patients.filter(("name", LIKE, marker), ("birth_date", GTE, dt.date(2005, 1, 1)))) == {
        jane["id"]
    }
    assert ids(client.patients.filter(("name", IN, [joe["name"], jim["name"]]))) == {joe["id"], jim["id"]}
    assert ids(client.patients.filter(("name", EQUAL, jane["name"]), sex="F")) == {jane["id"]}


def test_empty_in_list_matches_nothing_and_is_sent_as_search(
    logged_client: Client, request_log: RequestLog, marker: str
) -> None:
    _three_patients(logged_client, marker)
    del request_log.requests[:]
    assert logged_client.patients.filter(name__like=marker, sex__in=[]) == []
    (search,) = request_log.requests
    assert (search.method, search.url.path) == ("POST", "/patients/_search")
    assert json.loads(search.content) == {"lookups": [["name", "%", marker], ["sex", "in", []]]}


def test_long_in_list_is_sent_as_search_and_finds_the_records(
    logged_client: Client, request_log: RequestLog, marker: str
) -> None:
    joe, _jane, jim = _three_patients(logged_client, marker)
    names = [f"nobody-{i:04d}-{marker}" for i in range(200)] + [joe["name"], jim["name"]]
    del request_log.requests[:]
    assert ids(logged_client.patients.filter(name__in=names)) == {joe["id"], jim["id"]}
    assert [(r.method, r.url.path) for r in request_log.requests] == [("POST", "/patients/_search")]


def test_aware_datetime_lookups_compare_by_instant(client: Client, marker: str) -> None:
    created = client.providers.create({"name": f"Dr {marker}"})
    stamp = dt.datetime.fromisoformat(created["created_date"].replace("Z", "+00:00"))
    in_kigali = stamp.astimezone(dt.timezone(dt.timedelta(hours=2)))
    assert ids(client.providers.filter(name__like=marker, created_date__gte=in_kigali)) == {created["id"]}
    assert ids(client.providers.filter(("name", LIKE, marker), ("created_date", LT, in_kigali))) == set()


def test_naive_datetime_is_refused_before_any_request(logged_client: Client, request_log: RequestLog) -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        logged_client.providers.filter(created_date__gte=dt.datetime(2020, 1, 1))
    assert request_log.requests == []


def test_iter_asks_for_ndjson_and_yields_the_same_records_as_filter(
    logged_client: Client, request_log: RequestLog, marker: str
) -> None:
    made = _three_patients(logged_client, marker)
    del request_log.requests[:]
    streamed = list(logged_client.patients.iter(name__like=marker))
    assert ids(streamed) == ids(made) and len(streamed) == 3
    assert request_log.requests[0].headers["accept"].startswith("application/x-ndjson")
    assert sorted(streamed, key=lambda r: r["id"]) == sorted(
        logged_client.patients.filter(name__like=marker), key=lambda r: r["id"]
    )


def test_page_with_limit_and_cursor_returns_every_match_once_in_pages_of_at_most_limit(
    logged_client: Client, request_log: RequestLog, marker: str
) -> None:
    made = _three_patients(logged_client, marker) + _three_patients(logged_client, marker + "b")
    del request_log.requests[:]
    seen: list = []
    cursor = None
    for _ in range(10):
        page = logged_client.patients.page(name__like=marker, limit=4, cursor=cursor)
        assert len(page["items"]) <= 4
        seen.extend(page["items"])
        cursor = page["next"]
        if cursor is None:
            break
    assert cursor is None
    assert len(seen) == len(made) == len(ids(seen))
    assert ids(seen) == ids(made)
    assert [r["updated_date"] for r in seen] == sorted(r["updated_date"] for r in seen)
    first = request_log.requests[0]
    assert (first.method, first.url.params["limit"]) == ("GET", "4")


def test_page_with_lookups_a_query_cannot_carry_is_a_search_with_limit(
    logged_client: Client, request_log: RequestLog, marker: str
) -> None:
    _three_patients(logged_client, marker)
    del request_log.requests[:]
    assert logged_client.patients.page(name__like=marker, sex__in=[], limit=2) == {"items": [], "next": None}
    (search,) = request_log.requests
    assert (search.method, search.url.path, search.url.params["limit"]) == ("POST", "/patients/_search", "2")


@pytest.mark.parametrize("limit", [0, -1, True, "2"])
def test_page_refuses_a_limit_that_is_not_a_positive_int_before_any_request(
    logged_client: Client, request_log: RequestLog, limit: object
) -> None:
    with pytest.raises(ValueError, match="limit"):
        logged_client.patients.page(limit=limit)  # type: ignore[arg-type]
    assert request_log.requests == []


def test_no_lookups_returns_every_record_once(client: Client, marker: str) -> None:
    made = _three_patients(client, marker)
    everything = client.patients.filter()
    assert ids(made) <= ids(everything)
    assert len(ids(everything)) == len(everything)


def test_links_link_list_get_by_source_and_unlink(client: Client, marker: str) -> None:
    patient = client.patients.create({"name": f"Lin {marker}"})
    other = client.patients.create({"name": f"Oth {marker}"})
    source = f"clinic/{marker}?&"
    assert client.patients.link(patient["id"], "MRN 7", source) == {"source_id": "MRN 7", "source_name": source}
    assert client.patients.links(patient["id"]) == [{"source_id": "MRN 7", "source_name": source}]
    assert client.patients.get("MRN 7", source=source)["id"] == patient["id"]
    with pytest.raises(LinkConflict) as conflict:
        client.patients.link(other["id"], "MRN 7", source)
    assert conflict.value.status == 409
    client.patients.unlink(patient["id"], "MRN 7", source)
    assert client.patients.links(patient["id"]) == []
    with pytest.raises(NotFound):
        client.patients.unlink(patient["id"], "MRN 7", source)
    with pytest.raises(NotFound):
        client.patients.get("MRN 7", source=source)


def test_link_to_a_missing_patient_is_not_found(client: Client, marker: str) -> None:
    with pytest.raises(NotFound):
        client.patients.link("no-such-patient-py", "A1", marker)
    with pytest.raises(NotFound):
        client.patients.links("no-such-patient-py")


def test_without_the_token_calls_are_unauthorized_but_healthz_answers() -> None:
    with Client(FACADE_URL) as anonymous:
        assert anonymous.healthy() is True
        with pytest.raises(Unauthorized) as raised:
            anonymous.patients.get("anything")
        assert raised.value.status == 401
    with Client(FACADE_URL, token="not-the-token") as wrong, pytest.raises(Unauthorized):
        wrong.providers.filter()


def test_ready_passes_and_openapi_describes_the_routes(client: Client) -> None:
    client.ready()
    assert "/patients/{id}/links" in client.openapi()["paths"]


def test_unreachable_fhir_server_is_upstream_unavailable_after_retrying_reads_only(unreachable_url: str) -> None:
    log = RequestLog()
    with Client(unreachable_url, retries=2, backoff=0.01, http_client=log.http) as facade:
        with pytest.raises(UpstreamUnavailable) as raised:
            facade.patients.get("x")
        assert raised.value.status == 503
        assert log.methods == ["GET", "GET", "GET"]
        del log.requests[:]
        with pytest.raises(UpstreamUnavailable):
            facade.patients.create({"name": "Never twice"})
        assert log.methods == ["POST"]
        del log.requests[:]
        with pytest.raises(UpstreamUnavailable):
            facade.patients.link("x", "A1", "B1")
        assert log.methods == ["POST"]
    log.http.close()


def test_silent_fhir_server_is_upstream_timeout(silent_url: str) -> None:
    with Client(silent_url, retries=0, timeout=10) as facade, pytest.raises(UpstreamTimeout) as raised:
        facade.providers.filter(name="x")
    assert raised.value.status == 504


def test_unreachable_facade_is_facade_unreachable_after_retrying_reads_only() -> None:
    closed = "http://127.0.0.1:9"  # the discard port: nothing listens on it here
    log = RequestLog()
    with Client(closed, retries=1, backoff=0.01, http_client=log.http) as facade:
        with pytest.raises(FacadeUnreachable):
            facade.providers.filter(name="x")
        assert log.methods == ["GET", "GET"]
        del log.requests[:]
        with pytest.raises(FacadeUnreachable):
            facade.providers.create({"name": "x"})
        assert log.methods == ["POST"]
        assert facade.healthy() is False
    log.http.close()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"base_url": "127.0.0.1:3000"}, "http"),
        ({"base_url": "ftp://host"}, "http"),
        ({"base_url": "http://host/?q=1"}, "query"),
        ({"base_url": FACADE_URL, "timeout": 0}, "timeout"),
        ({"base_url": FACADE_URL, "retries": -1}, "retries"),
        ({"base_url": FACADE_URL, "token": " "}, "token"),
    ],
)
def test_bad_options_are_refused_when_the_client_is_made(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Client(**kwargs)


def test_a_caller_supplied_httpx_client_is_used_and_left_open(marker: str) -> None:
    log = RequestLog()
    with Client(FACADE_URL, token=FACADE_TOKEN, http_client=log.http) as facade:
        facade.providers.filter(name=marker)
    assert log.methods == ["GET"]
    assert log.http.get(FACADE_URL + "/healthz").status_code == 200
    log.http.close()
