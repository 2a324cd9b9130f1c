"""``Client``: the facade's whole HTTP API (contract §3 and §5) over one ``httpx.Client``, with
bearer auth, typed errors, and retries of idempotent calls on connection errors and 503."""

from __future__ import annotations

import json
import random
import time
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, TypedDict, cast
from urllib.parse import quote, urlsplit

import httpx

from .errors import FacadeError, FacadeUnreachable, StreamInterrupted, error_for
from .lookups import Lookup, all_lookups, encode_value, query_params

Record = Dict[str, Any]
"""A record as the facade returns it: the model's snake_case fields, JSON values (dates as strings)."""


class Link(TypedDict):
    source_id: str
    source_name: str


class Page(TypedDict):
    """One page of a filter: its records (ascending ``updated_date``) and the cursor of the next
    page, ``None`` on the last one."""

    items: List[Record]
    next: Optional[str]


NDJSON = "application/x-ndjson"
_RETRY_STATUSES = frozenset({503})
_MAX_RETRY_DELAY = 5.0


class Client:
    """A client of the healthcare-fhir facade.

    ``Client("http://127.0.0.1:3000", token="…")``; ``client.patients`` and ``client.providers``
    hold the record calls. Idempotent calls (GET, PATCH, DELETE, ``_search``) are retried up to
    ``retries`` times on a connection error, a timeout or a 503, with exponential back-off;
    creating a record or a link (POST) is never retried. Use it as a context manager or call
    ``close()``. ``http_client`` lets you pass a configured ``httpx.Client`` (proxies, TLS, hooks).
    """

    def __init__(
        self,
        base_url: str,
        token: Optional[str] = None,
        timeout: float = 10.0,
        *,
        retries: int = 2,
        backoff: float = 0.2,
        http_client: Optional[httpx.Client] = None,
    ) -> None:
        parts = urlsplit(base_url or "")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"base_url must be an http(s) URL, not {base_url!r}")
        if parts.query or parts.fragment:
            raise ValueError(f"base_url must not have a query or fragment: {base_url!r}")
        if not isinstance(timeout, (int, float)) or timeout <= 0:
            raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
        if not isinstance(retries, int) or retries < 0:
            raise ValueError(f"retries must be a non-negative integer, not {retries!r}")
        if token is not None and (not isinstance(token, str) or not token.strip()):
            raise ValueError("token must be a non-empty string or None")
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self.backoff = backoff
        self._headers = {"Accept": "application/json"}
        if token is not None:
            self._headers["Authorization"] = f"Bearer {token.strip()}"
        self._owns_http = http_client is None
        self._http = http_client if http_client is not None else httpx.Client(timeout=timeout)
        self._timeout = httpx.Timeout(timeout)
        self.patients = Patients(self, "patients")
        self.providers = Providers(self, "providers")

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ service

    def healthy(self) -> bool:
        """Whether ``/healthz`` answers 200 (the process is up)."""
        try:
            with self._exchange("GET", "/healthz", idempotent=True):
                return True
        except FacadeError:
            return False

    def ready(self) -> None:
        """Returns when ``/readyz`` is 200; raises ``NotReady`` (storage not ready) or another error."""
        with self._exchange("GET", "/readyz", idempotent=False):
            return None

    def openapi(self) -> Dict[str, Any]:
        """The facade's OpenAPI 3.1 document."""
        return cast(Dict[str, Any], self._json("GET", "/openapi.json", idempotent=True))

    # ------------------------------------------------------------------ HTTP

    def _json(self, method: str, path: str, *, idempotent: bool, **kwargs: Any) -> Any:
        with self._exchange(method, path, idempotent=idempotent, **kwargs) as response:
            response.read()
            return _decode_json(response) if response.status_code != 204 else None

    @contextmanager
    def _exchange(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool,
        params: Optional[Sequence[Tuple[str, str]]] = None,
        body: Any = None,
        accept: Optional[str] = None,
    ) -> Iterator[httpx.Response]:
        """Sends one call (with retries when ``idempotent``), yields the successful response with
        its body unread, and raises the typed error of an error answer."""
        headers = dict(self._headers)
        if accept:
            headers["Accept"] = accept
        content = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            content = json.dumps(body, ensure_ascii=False).encode("utf-8")
        request = self._http.build_request(
            method,
            self.base_url + path,
            params=list(params) if params else None,
            headers=headers,
            content=content,
            timeout=self._timeout,
        )
        attempts = 1 + (self.retries if idempotent else 0)
        for attempt in range(1, attempts + 1):
            try:
                response = self._http.send(request, stream=True)
            except httpx.TransportError as error:
                if attempt < attempts:
                    self._sleep(attempt, None)
                    continue
                raise FacadeUnreachable(
                    f"{method} {self.base_url}{path.split('?')[0]}: {type(error).__name__}: {error}"
                ) from error
            if response.status_code in _RETRY_STATUSES and attempt < attempts:
                retry_after = response.headers.get("retry-after")
                response.close()
                self._sleep(attempt, retry_after)
                continue
            try:
                if response.status_code >= 400:
                    response.read()
                    raise error_for(
                        response.status_code,
                        _problem_body(response),
                        response.headers.get("x-request-id"),
                        response.headers,
                    )
                yield response
            finally:
                response.close()
            return

    def _sleep(self, attempt: int, retry_after: Optional[str]) -> None:
        delay = self.backoff * (2 ** (attempt - 1)) * (0.5 + random.random())
        if retry_after and retry_after.strip().isdigit():
            delay = max(delay, float(retry_after))
        time.sleep(min(delay, _MAX_RETRY_DELAY))


def _decode_json(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content)
    except ValueError as error:
        raise FacadeError(
            f"the facade answered {response.status_code} with a body that is not JSON",
            status=response.status_code,
        ) from error


def _problem_body(response: httpx.Response) -> Mapping[str, Any]:
    try:
        body = json.loads(response.content)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _segment(value: Any) -> str:
    """One path segment: ids are text, every reserved character escaped."""
    return quote(str(value), safe="")


class Records:
    """The calls on one collection (``/patients`` or ``/providers``)."""

    def __init__(self, client: Client, collection: str) -> None:
        self._client = client
        self._base = "/" + collection

    def create(self, data: Mapping[str, Any]) -> Record:
        """Creates a record (never retried) and returns it as stored."""
        return cast(Record, self._client._json("POST", self._base, idempotent=False, body=_record_body(data)))

    def get(self, id: Any) -> Record:
        """The record; ``NotFound`` when it does not exist."""
        return cast(Record, self._client._json("GET", f"{self._base}/{_segment(id)}", idempotent=True))

    def update(self, id: Any, data: Mapping[str, Any]) -> Record:
        """Applies a partial update (``None`` clears a field) and returns the updated record."""
        return cast(
            Record,
            self._client._json("PATCH", f"{self._base}/{_segment(id)}", idempotent=True, body=_record_body(data)),
        )

    def delete(self, id: Any) -> None:
        """Deletes the record; ``NotFound`` when it does not exist."""
        self._client._json("DELETE", f"{self._base}/{_segment(id)}", idempotent=True)

    def filter(self, *lookups: Lookup, **keywords: Any) -> List[Record]:
        """The records matching every lookup: ``(field, operator, value)`` triples and/or the seed's
        keywords (``name__like='Jo'``, ``birth_date__gte=date(2020, 1, 1)``, ``name__in=[…]``).
        No lookups: every record."""
        return list(self.iter(*lookups, **keywords))

    def iter(self, *lookups: Lookup, **keywords: Any) -> Iterator[Record]:
        """The matching records one by one. Asks for NDJSON, which a streaming facade sends line
        by line; a facade that answers a JSON array is read whole. Sent as a query string when
        that says exactly the same as the lookups, else as ``POST …/_search``."""
        with self._filter_exchange(lookups, keywords, [], f"{NDJSON}, application/json;q=0.5") as response:
            yield from _records(response)

    def page(
        self, *lookups: Lookup, limit: int, cursor: Optional[str] = None, **keywords: Any
    ) -> Page:
        """At most ``limit`` matching records and the cursor of the next page: pass ``cursor=``
        the ``next`` of the previous page, unchanged, with the same lookups. Records written
        between pages are neither missed nor repeated (see the facade's docs/streaming.md)."""
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError("limit must be a positive int")
        listing = [("limit", str(limit))] + ([("cursor", cursor)] if cursor is not None else [])
        with self._filter_exchange(lookups, keywords, listing, "application/json") as response:
            response.read()
            page = _decode_json(response)
        if not isinstance(page, dict) or not isinstance(page.get("items"), list):
            raise FacadeError("the facade's page is not {items, next}", status=response.status_code)
        return Page(items=page["items"], next=page.get("next"))

    def _filter_exchange(
        self,
        lookups: Sequence[Lookup],
        keywords: Mapping[str, Any],
        listing: List[Tuple[str, str]],
        accept: str,
    ) -> Any:
        """The filter call: a query string when it says exactly the same as the lookups, else
        ``POST …/_search``; ``listing`` (limit, cursor) goes in the query string either way."""
        encoded = all_lookups(tuple(lookups), dict(keywords))
        params = query_params(encoded)
        if params is not None:
            return self._client._exchange(
                "GET", self._base, idempotent=True, params=params + listing, accept=accept
            )
        return self._client._exchange(
            "POST",
            f"{self._base}/_search",
            idempotent=True,
            params=listing,
            body={"lookups": encoded},
            accept=accept,
        )


def _records(response: httpx.Response) -> Iterator[Record]:
    media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if media_type == NDJSON:
            for line in response.iter_lines():
                if line.strip():
                    yield json.loads(line)
            return
        response.read()
    except httpx.TransportError as error:
        raise StreamInterrupted(
            f"the connection broke while reading the records: {type(error).__name__}",
            status=response.status_code,
        ) from error
    records = _decode_json(response)
    if not isinstance(records, list):
        raise FacadeError("the facade's filter answer is not a JSON array", status=response.status_code)
    yield from records


def _record_body(data: Mapping[str, Any]) -> Dict[str, Any]:
    if not isinstance(data, Mapping):
        raise TypeError(f"record data must be a mapping, not {type(data).__name__}")
    return {str(k): encode_value(v) for k, v in data.items()}


class Patients(Records):
    """``client.patients``: records, lookups, and links to outside identifiers."""

    def get(self, id: Any, source: Optional[str] = None) -> Record:
        """The patient with this id or, with ``source``, the one linked to (``id``, ``source``) as
        (source_id, source_name); ``NotFound`` when there is none."""
        if source is None:
            return super().get(id)
        return cast(
            Record,
            self._client._json("GET", f"{self._base}/{_segment(id)}", idempotent=True, params=[("source", source)]),
        )

    def links(self, id: Any) -> List[Link]:
        """The (source_id, source_name) pairs linked to the patient; ``NotFound`` if it does not exist."""
        return cast(List[Link], self._client._json("GET", f"{self._base}/{_segment(id)}/links", idempotent=True))

    def link(self, id: Any, source_id: str, source_name: str) -> Link:
        """Links the pair to the patient (never retried); ``LinkConflict`` if the pair is already
        linked to any patient, ``NotFound`` if the patient does not exist."""
        link = {"source_id": source_id, "source_name": source_name}
        return cast(Link, self._client._json("POST", f"{self._base}/{_segment(id)}/links", idempotent=False, body=link))

    def unlink(self, id: Any, source_id: str, source_name: str) -> None:
        """Removes the pair from the patient; ``NotFound`` if the patient has no such link."""
        self._client._json(
            "DELETE",
            f"{self._base}/{_segment(id)}/links",
            idempotent=True,
            params=[("source_id", source_id), ("source_name", source_name)],
        )


class Providers(Records):
    """``client.providers``: records and lookups."""
