"""``FacadeStorage``: a rapidsms-healthcare storage backend that keeps the records in a FHIR
server through the healthcare-fhir facade. An app switches to it with

    HEALTHCARE_STORAGE_BACKEND = "healthcare_fhir_client.backend.FacadeStorage"
    HEALTHCARE_FHIR_FACADE_URL = "http://127.0.0.1:3000"
    HEALTHCARE_FHIR_FACADE_TOKEN = "…"   # when the facade has API_TOKENS

and keeps using ``healthcare.api.client``. Records come back in the types the seed's Django
backend returns (see ``records.to_python``); a missing record or link is ``None``/``False`` as
the seed's API says; invalid data raises ``ValidationError`` and a failing facade or FHIR server
raises the client's other errors, instead of being reported as "not found"."""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Type

from . import compat

compat.install()  # before healthcare.backends.base, which imports django.utils.importlib

from django.conf import settings  # noqa: E402
from django.core.exceptions import ImproperlyConfigured  # noqa: E402
from django.utils import timezone  # noqa: E402
from healthcare.backends.base import HealthcareStorage  # type: ignore[import-untyped]  # noqa: E402

from .client import Client, Records  # noqa: E402
from .errors import LinkConflict, NotFound  # noqa: E402
from .lookups import Lookup  # noqa: E402
from .records import to_python  # noqa: E402

def client_from_settings() -> Client:
    """A ``Client`` for ``HEALTHCARE_FHIR_FACADE_URL`` and ``HEALTHCARE_FHIR_FACADE_TOKEN``."""
    url = getattr(settings, "HEALTHCARE_FHIR_FACADE_URL", None)
    if not url:
        raise ImproperlyConfigured(
            "FacadeStorage needs HEALTHCARE_FHIR_FACADE_URL, the healthcare-fhir facade's base URL"
        )
    token = getattr(settings, "HEALTHCARE_FHIR_FACADE_TOKEN", None) or None
    try:
        return Client(url, token=token)
    except ValueError as error:
        raise ImproperlyConfigured(f"HEALTHCARE_FHIR_FACADE_URL/TOKEN: {error}") from error


def _use_tz() -> bool:
    """Django's ``USE_TZ`` (on unless the settings turn it off)."""
    return bool(getattr(settings, "USE_TZ", True))


def _found(call: Callable[[], Mapping[str, Any]]) -> Optional[Mapping[str, Any]]:
    """``call()``'s record, or ``None`` when it raises ``NotFound``."""
    try:
        return call()
    except NotFound:
        return None


def _succeeds(call: Callable[[], object], absent: Sequence[Type[Exception]] = (NotFound,)) -> bool:
    """``True`` when ``call()`` returns, ``False`` when it raises one of ``absent``."""
    try:
        call()
    except tuple(absent):
        return False
    return True


class FacadeStorage(HealthcareStorage):  # type: ignore[misc]
    """rapidsms-healthcare's ``HealthcareStorage`` over the healthcare-fhir facade."""

    def __init__(self, client: Optional[Client] = None) -> None:
        self.client = client if client is not None else client_from_settings()

    # ------------------------------------------------------------ conversions

    @staticmethod
    def _record(record: Mapping[str, Any]) -> Dict[str, Any]:
        return to_python(record, naive_local=not _use_tz())

    @staticmethod
    def _value(value: Any) -> Any:
        """A naive ``datetime`` is read as Django reads it: in its current time zone with
        ``USE_TZ``, else in the process's local time (that of ``datetime.now()``)."""
        if isinstance(value, dt.datetime) and timezone.is_naive(value):
            if not _use_tz():
                return value.astimezone()
            return timezone.make_aware(value, timezone.get_current_timezone())
        if isinstance(value, (list, tuple, set, frozenset)):
            return [FacadeStorage._value(v) for v in value]
        return value

    def _data(self, data: Mapping[str, Any]) -> Dict[str, Any]:
        return {k: self._value(v) for k, v in data.items()}

    def _lookups(self, lookups: Sequence[Any]) -> List[Lookup]:
        """The documented call is ``filter_patients(*lookups)``, but the seed's own client API
        (``healthcare.api``'s ``filter``) passes them as one list: accept both shapes."""
        if len(lookups) == 1 and isinstance(lookups[0], list):
            if all(isinstance(item, (list, tuple)) for item in lookups[0]):
                lookups = lookups[0]
        return [(field, op, self._value(value)) for field, op, value in lookups]

    # ------------------------------------------------------------ shared by both models

    def _get(self, records: Records, id: Any) -> Optional[Dict[str, Any]]:
        found = _found(lambda: records.get(id))
        return self._record(found) if found is not None else None

    def _create(self, records: Records, data: Mapping[str, Any]) -> Dict[str, Any]:
        return self._record(records.create(self._data(data)))

    def _update(self, records: Records, id: Any, data: Mapping[str, Any]) -> bool:
        return _succeeds(lambda: records.update(id, self._data(data)))

    def _delete(self, records: Records, id: Any) -> bool:
        return _succeeds(lambda: records.delete(id))

    def _filter(self, records: Records, lookups: Sequence[Lookup]) -> List[Dict[str, Any]]:
        return [self._record(r) for r in records.iter(*self._lookups(lookups))]

    # ------------------------------------------------------------ patients

    def get_patient(self, id: Any, source: Optional[str] = None) -> Optional[Dict[str, Any]]:
        if not source:
            return self._get(self.client.patients, id)
        found = _found(lambda: self.client.patients.get(id, source=source))
        return self._record(found) if found is not None else None

    def create_patient(self, data: Mapping[str, Any]) -> Dict[str, Any]:
        return self._create(self.client.patients, data)

    def update_patient(self, id: Any, data: Mapping[str, Any]) -> bool:
        return self._update(self.client.patients, id, data)

    def delete_patient(self, id: Any) -> bool:
        return self._delete(self.client.patients, id)

    def filter_patients(self, *lookups: Lookup) -> List[Dict[str, Any]]:
        return self._filter(self.client.patients, lookups)

    def link_patient(self, id: Any, source_id: str, source_name: str) -> bool:
        return _succeeds(
            lambda: self.client.patients.link(id, source_id, source_name), (NotFound, LinkConflict)
        )

    def unlink_patient(self, id: Any, source_id: str, source_name: str) -> bool:
        return _succeeds(lambda: self.client.patients.unlink(id, source_id, source_name))

    # ------------------------------------------------------------ providers

    def get_provider(self, id: Any) -> Optional[Dict[str, Any]]:
        return self._get(self.client.providers, id)

    def create_provider(self, data: Mapping[str, Any]) -> Dict[str, Any]:
        return self._create(self.client.providers, data)

    def update_provider(self, id: Any, data: Mapping[str, Any]) -> bool:
        return self._update(self.client.providers, id, data)

    def delete_provider(self, id: Any) -> bool:
        return self._delete(self.client.providers, id)

    def filter_providers(self, *lookups: Lookup) -> List[Dict[str, Any]]:
        return self._filter(self.client.providers, lookups)
