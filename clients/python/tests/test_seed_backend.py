"""rapidsms-healthcare 0.1.0's own ``BackendTestMixin`` run against ``FacadeStorage``, and an app
that switches to it by ``HEALTHCARE_STORAGE_BACKEND`` alone.

Shims, each the least that lets the seed's Python 2 era test modules import and run on Python 3
and a current Django (nothing in the tests themselves is changed):
- ``healthcare_fhir_client.compat.install()``: ``django.utils.importlib`` (removed in Django 1.9),
  which the seed's backends/base.py imports at run time; ``backend`` installs it itself;
- ``django.utils.unittest`` (removed in Django 1.9) and ``mock`` (now ``unittest.mock``):
  importing ``healthcare.tests.backends.base`` runs ``healthcare/tests/__init__.py``, which imports
  the seed's other test modules (test_dummy, test_api) that use them;
- ``assertItemsEqual``: Python 3 renamed it ``assertCountEqual``.

Isolation: the seed's tests assume an empty store (``filter_patients()`` must return exactly the
two records a test made), as the seed's own test cases arrange (DummyStorage is reset in setUp,
the Django backend's TestCase rolls back). Here the facade under test keeps its records under a
scope tag unique to this run (FhirStorage's scopeTag), so "empty" means empty within that scope,
never the shared FHIR server; setUp deletes what earlier tests left in the scope."""

from __future__ import annotations

import os
import sys
import unittest
import unittest.mock

import django.utils

from healthcare_fhir_client import compat

compat.install()
sys.modules.setdefault("django.utils.unittest", unittest)
setattr(django.utils, "unittest", unittest)
sys.modules.setdefault("mock", unittest.mock)

from healthcare.tests.backends.base import BackendTestMixin  # noqa: E402

from healthcare_fhir_client.backend import FacadeStorage  # noqa: E402


def empty_test_scope(storage: FacadeStorage) -> None:
    """Deletes every record the facade under test holds, which is only this run's scope."""
    if not os.environ.get("HEALTHCARE_FHIR_TEST_SCOPE"):
        raise RuntimeError(
            "refusing to empty a facade that is not scoped to this test run "
            "(HEALTHCARE_FHIR_TEST_SCOPE is unset): run through `npm test`"
        )
    for patient in storage.filter_patients():
        storage.delete_patient(patient["id"])
    for provider in storage.filter_providers():
        storage.delete_provider(provider["id"])


class SeedBackendTestsOnFacadeStorage(BackendTestMixin, unittest.TestCase):
    backend = "healthcare_fhir_client.backend.FacadeStorage"

    def setUp(self) -> None:
        super().setUp()
        empty_test_scope(self.backend)

    assertItemsEqual = unittest.TestCase.assertCountEqual


class AppSwitchedBySettingTest(unittest.TestCase):
    """``healthcare.api.client`` with only HEALTHCARE_STORAGE_BACKEND (and the facade settings)
    pointing at FacadeStorage, as conftest configures Django."""

    def test_healthcare_api_client_uses_facade_storage_and_returns_seed_types(self) -> None:
        import datetime as dt

        from healthcare.api import client
        from healthcare.exceptions import PatientDoesNotExist

        self.assertIsInstance(client.backend, FacadeStorage)
        created = client.patients.create(name="Switched", birth_date=dt.date(1990, 5, 17))
        self.assertEqual(created["birth_date"], dt.date(1990, 5, 17))
        self.assertIsInstance(created["created_date"], dt.datetime)
        self.assertEqual(client.patients.get(created["id"]), created)
        self.assertTrue(client.patients.link(created["id"], "mrn-1", f"clinic-{created['id']}"))
        by_source = client.patients.get("mrn-1", source=f"clinic-{created['id']}")
        self.assertEqual(by_source["id"], created["id"])
        found = client.patients.filter(name__like="Switch", birth_date__lte=dt.date(1990, 5, 17))
        self.assertIn(created["id"], [p["id"] for p in found])
        self.assertTrue(client.patients.delete(created["id"]))
        with self.assertRaises(PatientDoesNotExist):
            client.patients.get(created["id"])
