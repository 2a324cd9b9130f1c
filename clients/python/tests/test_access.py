"""Scopes through the Python client, against the real facade: a token whose client has only
``system/Patient.rs`` (an ``API_CLIENTS_FILE``-style client of the facade conftest describes) reads
and searches patients; every other call raises ``Forbidden`` naming the scope it lacked."""

from __future__ import annotations

from typing import Callable

import pytest

from conftest import FACADE_URL, READONLY_TOKEN
from healthcare_fhir_client import Client, FacadeError, Forbidden, NotFound


@pytest.fixture
def readonly() -> Client:
    return Client(FACADE_URL, token=READONLY_TOKEN)


def test_a_read_search_client_reads_and_searches_patients(readonly: Client, marker: str) -> None:
    with readonly:
        assert readonly.patients.filter(name=marker) == []
        with pytest.raises(NotFound):
            readonly.patients.get("no-such-patient-py")


@pytest.mark.parametrize(
    "call, scope",
    [
        (lambda c: c.patients.create({"name": "Never Stored"}), "system/Patient.c"),
        (lambda c: c.patients.update("no-such-patient-py", {"name": "X"}), "system/Patient.u"),
        (lambda c: c.patients.delete("no-such-patient-py"), "system/Patient.d"),
        (lambda c: c.patients.link("no-such-patient-py", "A1", "clinic"), "system/Patient.u"),
        (lambda c: c.providers.filter(), "system/Practitioner.s"),
        (lambda c: c.providers.get("no-such-provider-py"), "system/Practitioner.r"),
    ],
)
def test_a_call_outside_the_scopes_raises_forbidden_naming_the_missing_scope(
    readonly: Client, call: Callable[[Client], object], scope: str
) -> None:
    with readonly, pytest.raises(Forbidden) as raised:
        call(readonly)
    error = raised.value
    assert isinstance(error, FacadeError)
    assert error.status == 403
    assert error.scope == scope
    assert error.problem_type == "urn:healthcare-fhir:problem:forbidden"
    assert scope in str(error)
