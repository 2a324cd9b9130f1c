"""Python client of the healthcare-fhir HTTP facade: ``Client`` (records, lookups with
``date``/``datetime`` values, links, streamed filters) and its typed errors. The
rapidsms-healthcare backend is ``healthcare_fhir_client.backend.FacadeStorage`` (needs Django)."""

from .client import Client, Link, Page, Patients, Providers, Record, Records
from .errors import (
    Conflict,
    FacadeError,
    FacadeUnreachable,
    Forbidden,
    LinkConflict,
    NotFound,
    NotReady,
    StreamInterrupted,
    TooManyRequests,
    Unauthorized,
    UpstreamBadResponse,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
    ValidationError,
    WriteConflict,
)
from .lookups import EQUAL, GT, GTE, IN, LIKE, LT, LTE, Lookup

__version__ = "0.1.0"

__all__ = [
    "Client",
    "Records",
    "Patients",
    "Providers",
    "Record",
    "Link",
    "Page",
    "Lookup",
    "EQUAL",
    "LIKE",
    "IN",
    "LT",
    "LTE",
    "GT",
    "GTE",
    "FacadeError",
    "FacadeUnreachable",
    "StreamInterrupted",
    "ValidationError",
    "Unauthorized",
    "Forbidden",
    "TooManyRequests",
    "NotFound",
    "Conflict",
    "LinkConflict",
    "WriteConflict",
    "UpstreamError",
    "UpstreamBadResponse",
    "UpstreamUnavailable",
    "UpstreamTimeout",
    "NotReady",
]
