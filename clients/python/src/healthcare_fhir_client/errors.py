"""The exceptions the client raises: one class per problem type of the facade (RFC 9457
problem+json), chosen by the problem's ``type`` and, failing that, by its HTTP status."""

from __future__ import annotations

import re
from typing import Any, Dict, List, Mapping, Optional, Type


class FacadeError(Exception):
    """Any failure of a call to the facade. ``status`` is ``None`` when no answer arrived."""

    def __init__(
        self,
        detail: str,
        *,
        status: Optional[int] = None,
        problem_type: str = "about:blank",
        title: str = "",
        issues: Optional[List[Dict[str, Any]]] = None,
        request_id: Optional[str] = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.problem_type = problem_type
        self.title = title
        self.issues: List[Dict[str, Any]] = issues or []
        self.request_id = request_id

    def __str__(self) -> str:
        prefix = f"{self.status} " if self.status is not None else ""
        issues = "; ".join(
            f"{i['field']}: {i.get('message', '')}" if i.get("field") else str(i.get("message", ""))
            for i in self.issues
        )
        return f"{prefix}{self.detail}" + (f" ({issues})" if issues else "")


class FacadeUnreachable(FacadeError):
    """The facade could not be reached or did not answer in time (after any retries)."""


class StreamInterrupted(FacadeError):
    """The connection broke while a streamed filter was being read: the records seen are incomplete."""


class ValidationError(FacadeError):
    """400: a record, lookup or request the facade rejected; ``issues`` names each field."""


class Unauthorized(FacadeError):
    """401: no bearer token, or one the facade does not know."""


class Forbidden(FacadeError):
    """403: the token is valid but lacks the SMART scope the call needs; ``scope`` names it
    (e.g. ``system/Patient.c``), or is ``None`` if the facade did not say."""

    def __init__(self, detail: str, *, scope: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.scope = scope


class TooManyRequests(FacadeError):
    """429: this client is over the facade's rate limit or its bound of requests in flight;
    ``retry_after`` is the seconds the facade asked to wait (``None`` if it did not say)."""

    def __init__(self, detail: str, *, retry_after: Optional[int] = None, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.retry_after = retry_after


class NotFound(FacadeError):
    """404: the record, the link, or (for ``get(..., source=...)``) the linked patient does not exist."""


class Conflict(FacadeError):
    """409: the write conflicts with the stored state."""


class LinkConflict(Conflict):
    """409: this (source_id, source_name) pair is already linked to a patient."""


class WriteConflict(Conflict):
    """409: the record changed concurrently too often; the request may be retried."""


class UpstreamError(FacadeError):
    """5xx: the storage behind the facade (the FHIR server) failed."""


class UpstreamBadResponse(UpstreamError):
    """502: the FHIR server gave an answer the facade could not use."""


class UpstreamUnavailable(UpstreamError):
    """503: the FHIR server cannot be reached (retried for idempotent calls before raising)."""


class UpstreamTimeout(UpstreamError):
    """504: the FHIR server did not answer in time."""


class NotReady(UpstreamError):
    """503 from ``/readyz``: the facade is up but its storage is not ready."""


_PROBLEM_PREFIX = "urn:healthcare-fhir:problem:"

_BY_TYPE: Mapping[str, Type[FacadeError]] = {
    _PROBLEM_PREFIX + "validation-error": ValidationError,
    _PROBLEM_PREFIX + "forbidden": Forbidden,
    _PROBLEM_PREFIX + "too-many-requests": TooManyRequests,
    _PROBLEM_PREFIX + "not-found": NotFound,
    _PROBLEM_PREFIX + "link-conflict": LinkConflict,
    _PROBLEM_PREFIX + "write-conflict": WriteConflict,
    _PROBLEM_PREFIX + "storage-bad-response": UpstreamBadResponse,
    _PROBLEM_PREFIX + "storage-unreachable": UpstreamUnavailable,
    _PROBLEM_PREFIX + "storage-timeout": UpstreamTimeout,
    _PROBLEM_PREFIX + "not-ready": NotReady,
}

_BY_STATUS: Mapping[int, Type[FacadeError]] = {
    400: ValidationError,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    429: TooManyRequests,
    502: UpstreamBadResponse,
    503: UpstreamUnavailable,
    504: UpstreamTimeout,
}


_SCOPE_IN_CHALLENGE = re.compile(r'scope="([^"]+)"')
_SCOPE_IN_DETAIL = re.compile(r"needs the scope (\S+)")


def _missing_scope(detail: str, headers: Mapping[str, str]) -> Optional[str]:
    """The scope a 403 names: ``WWW-Authenticate: Bearer error="insufficient_scope", scope="…"``,
    else the problem's detail ("This route needs the scope system/Patient.c …")."""
    found = _SCOPE_IN_CHALLENGE.search(headers.get("www-authenticate", "")) or _SCOPE_IN_DETAIL.search(detail)
    return found.group(1) if found else None


def error_for(
    status: int,
    problem: Mapping[str, Any],
    request_id: Optional[str],
    headers: Optional[Mapping[str, str]] = None,
) -> FacadeError:
    """The exception for an error answer; ``problem`` is its problem+json body (or ``{}``),
    ``headers`` the answer's headers (for the scope of a 403 and the ``Retry-After`` of a 429)."""
    problem_type = problem.get("type") if isinstance(problem.get("type"), str) else "about:blank"
    cls = _BY_TYPE.get(str(problem_type)) or _BY_STATUS.get(status)
    if cls is None:
        cls = UpstreamError if status >= 500 else FacadeError
    detail = problem.get("detail")
    issues = problem.get("issues")
    message = detail if isinstance(detail, str) and detail else f"the facade answered {status}"
    extra: Dict[str, Any] = {}
    if cls is Forbidden:
        extra["scope"] = _missing_scope(message, headers or {})
    if cls is TooManyRequests:
        retry_after = (headers or {}).get("retry-after", "").strip()
        extra["retry_after"] = int(retry_after) if retry_after.isdigit() else None
    return cls(
        message,
        status=status,
        problem_type=str(problem_type),
        title=str(problem.get("title") or ""),
        issues=[dict(i) for i in issues if isinstance(i, dict)] if isinstance(issues, list) else None,
        request_id=request_id,
        **extra,
    )
