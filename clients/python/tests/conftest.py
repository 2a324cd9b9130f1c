"""Test set-up: the facade under test comes from the environment that test/python/pytest.test.ts
(run by `npm test`) sets when it starts the facades on the real HAPI FHIR server:

- HEALTHCARE_FHIR_FACADE_URL, HEALTHCARE_FHIR_FACADE_TOKEN: a facade over FhirStorage whose scope
  tag is unique to the run (HEALTHCARE_FHIR_TEST_SCOPE names it), with that API token;
- HEALTHCARE_FHIR_TEST_READONLY_TOKEN: the token of a static client of that facade with only the
  scope ``system/Patient.rs``;
- HEALTHCARE_FHIR_TEST_UNREACHABLE_URL: a facade whose FHIR server refuses connections (503);
- HEALTHCARE_FHIR_TEST_SILENT_URL: a facade whose FHIR server never answers (504).

Django is configured here the way an app switching to FacadeStorage configures it."""

from __future__ import annotations

import os
import time
import uuid
from typing import Callable, Iterator, List

import django
import httpx
import pytest
from django.conf import settings

from healthcare_fhir_client import Client


def _env(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise pytest.UsageError(
            f"{name} is not set: run these tests with `npm test` (it starts the facades on a real "
            "HAPI FHIR server), or `npm test -- test/python`"
        )
    return value


FACADE_URL = _env("HEALTHCARE_FHIR_FACADE_URL")
FACADE_TOKEN = _env("HEALTHCARE_FHIR_FACADE_TOKEN")
READONLY_TOKEN = _env("HEALTHCARE_FHIR_TEST_READONLY_TOKEN")

settings.configure(
    USE_TZ=True,
    TIME_ZONE="UTC",
    INSTALLED_APPS=[],
    HEALTHCARE_STORAGE_BACKEND="healthcare_fhir_client.backend.FacadeStorage",
    HEALTHCARE_FHIR_FACADE_URL=FACADE_URL,
    HEALTHCARE_FHIR_FACADE_TOKEN=FACADE_TOKEN,
)
django.setup()


@pytest.fixture
def client() -> Iterator[Client]:
    with Client(FACADE_URL, token=FACADE_TOKEN) as facade:
        yield facade


@pytest.fixture
def marker() -> str:
    """A string unique to the test, put in names so lookups find only the test's own records."""
    return f"py{uuid.uuid4().hex[:12]}"


class RequestLog:
    """The requests an ``httpx.Client`` sent, one entry per attempt (retries included)."""

    def __init__(self) -> None:
        self.requests: List[httpx.Request] = []
        self.http = httpx.Client(event_hooks={"request": [self.requests.append]})

    @property
    def methods(self) -> List[str]:
        return [r.method for r in self.requests]


@pytest.fixture
def request_log() -> Iterator[RequestLog]:
    log = RequestLog()
    yield log
    log.http.close()


@pytest.fixture
def logged_client(request_log: RequestLog) -> Client:
    return Client(FACADE_URL, token=FACADE_TOKEN, http_client=request_log.http, backoff=0.01)


@pytest.fixture
def unreachable_url() -> str:
    return _env("HEALTHCARE_FHIR_TEST_UNREACHABLE_URL")


@pytest.fixture
def silent_url() -> str:
    return _env("HEALTHCARE_FHIR_TEST_SILENT_URL")


@pytest.fixture
def local_time_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """Sets the process's local time zone (``TZ``, what ``datetime.now()`` uses) for one test."""

    def use(tz: str) -> None:
        monkeypatch.setenv("TZ", tz)
        time.tzset()

    yield use
    monkeypatch.undo()
    time.tzset()
