"""FhirClient: the only module that talks to a FHIR server.

Reads, searches (same-origin paging), batches, transactions and conditional writes, with
retries limited to idempotent requests and every failure mapped to a closed set of
`FhirErrorCode`s carrying the parsed OperationOutcome. Every write is checked against the R4
structure first (`smart_app.ehr.validation`): an invalid resource raises `InvalidResource` and is never sent.

Spec: FHIR R4 RESTful API https://hl7.org/fhir/R4/http.html (conditional create
https://hl7.org/fhir/R4/http.html#ccreate, transaction https://hl7.org/fhir/R4/http.html#transaction,
paging https://hl7.org/fhir/R4/search.html#paging, OperationOutcome
https://hl7.org/fhir/R4/operationoutcome.html).
"""
from __future__ import annotations

import copy
import email.utils
import enum
import json
import logging
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timezone
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import requests

from smart_app.ehr import fhirjson
from smart_app.ehr.http import BodyRefused, read_body
from smart_app.ehr.origins import origin_of
from smart_app.ehr.validation import check_outgoing

log = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"
DEFAULT_TIMEOUT = (3.05, 20)
DEFAULT_MAX_PAGES = 20
CAPABILITIES_TTL = 300.0

_TYPE_RE = re.compile(r"^[A-Z][A-Za-z]{1,63}$")
_ID_RE = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
# A relative request path: "Type", "Type/id", "Type/id/_history/v", "Type?query", "Type/id/$op".
_RELATIVE_PATH_RE = re.compile(r"^[A-Z][A-Za-z]{1,63}(?:/[A-Za-z0-9\-.$_]+)*(?:\?.*)?$")


class FhirErrorCode(enum.StrEnum):
    """Closed set of reasons a FHIR interaction failed."""

    UNAUTHORIZED = "UNAUTHORIZED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    GONE = "GONE"
    CONFLICT = "CONFLICT"
    PRECONDITION_FAILED = "PRECONDITION_FAILED"
    INVALID = "INVALID"
    RATE_LIMITED = "RATE_LIMITED"
    UNAVAILABLE = "UNAVAILABLE"
    SERVER_ERROR = "SERVER_ERROR"
    NETWORK = "NETWORK"
    BAD_RESPONSE = "BAD_RESPONSE"
    OFF_SERVER_LINK = "OFF_SERVER_LINK"
    NOT_SUPPORTED = "NOT_SUPPORTED"
    DEADLINE_EXCEEDED = "DEADLINE_EXCEEDED"
    RESPONSE_TOO_LARGE = "RESPONSE_TOO_LARGE"


# Codes a later, unchanged retry may cure; the outbox schedules these, the rest need a person.
TRANSIENT_CODES = frozenset(
    {
        FhirErrorCode.RATE_LIMITED,
        FhirErrorCode.UNAVAILABLE,
        FhirErrorCode.SERVER_ERROR,
        FhirErrorCode.NETWORK,
        FhirErrorCode.DEADLINE_EXCEEDED,
    }
)


@dataclass(frozen=True)
class TransportBudget:
    """Bounds on what one EHR may cost us: wall-clock time per request and per page, bytes per response.

    A connect/read timeout bounds each socket read, not the whole answer: an EHR trickling a
    byte at a time would hold a request thread for ever. These bound the total, and the body
    is read streamed so an oversized one is refused before it is all in memory.
    """

    request_seconds: float = 30.0
    page_seconds: float = 60.0  # one FhirClient serves one page (request) of one launch
    max_response_bytes: int = 8 * 1024 * 1024

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "TransportBudget":
        """The budget from app config keys FHIR_REQUEST_SECONDS, FHIR_PAGE_SECONDS, FHIR_MAX_RESPONSE_BYTES."""
        return cls(request_seconds=float(config.get("FHIR_REQUEST_SECONDS", cls.request_seconds)),
                   page_seconds=float(config.get("FHIR_PAGE_SECONDS", cls.page_seconds)),
                   max_response_bytes=int(config.get("FHIR_MAX_RESPONSE_BYTES", cls.max_response_bytes)))


@dataclass(frozen=True)
class OutcomeIssue:
    """One OperationOutcome.issue, reduced to what the app shows or maps to a form field."""

    severity: str
    code: str
    diagnostics: str | None = None
    details_text: str | None = None
    expression: tuple[str, ...] = ()


class FhirError(Exception):
    """A failed FHIR interaction; `code` is from FhirErrorCode, never free text."""

    def __init__(self, code: FhirErrorCode, *, status: int | None = None,
                 issues: Sequence[OutcomeIssue] = (), method: str | None = None,
                 resource_type: str | None = None, retry_after: float | None = None) -> None:
        self.code = code
        self.status = status
        self.issues = list(issues)
        self.method = method
        self.resource_type = resource_type
        self.retry_after = retry_after
        # Deliberately no diagnostics in the message: servers echo submitted data into them.
        where = f" {method} {resource_type}" if method else ""
        super().__init__(f"FHIR{where} failed: {code.value}" + (f" (HTTP {status})" if status else ""))

    @property
    def transient(self) -> bool:
        """True when retrying the same request later may succeed."""
        return self.code in TRANSIENT_CODES


@dataclass(frozen=True)
class WriteResult:
    """Outcome of a create/update: where the resource now lives and whether it is new."""

    status: int
    resource_type: str
    id: str | None
    version_id: str | None
    location: str | None
    etag: str | None
    last_modified: str | None
    resource: dict | None

    @property
    def created(self) -> bool:
        """True when the server made a new resource (201), False when a condition matched (200)."""
        return self.status == 201

    @property
    def reference(self) -> str | None:
        """Relative reference `Type/id` to the written resource, when the server told us its id."""
        return f"{self.resource_type}/{self.id}" if self.id else None


class SearchResult(list):
    """All resources of a search (matches then includes), with `.matches` and `.included` split out.

    `truncated` is True when the search stopped at its page limit while the server still had a
    `next` page: the result is the first pages, never "all there is". Callers show or log it.
    """

    def __init__(self, matches: Iterable[dict] = (), included: Iterable[dict] = (),
                 total: int | None = None, *, truncated: bool = False, pages: int = 1) -> None:
        self.matches: list[dict] = list(matches)
        self.included: list[dict] = list(included)
        self.total = total
        self.truncated = truncated
        self.pages = pages
        super().__init__(self.matches + self.included)


# ---------------------------------------------------------------------------------------------
# OperationOutcome parsing (pure; mapping issues onto form fields is smart_app.forms.field_errors)


def parse_operation_outcome(body: Any) -> list[OutcomeIssue]:
    """Parse an OperationOutcome dict into issues; anything else yields no issues."""
    if not isinstance(body, Mapping) or body.get("resourceType") != "OperationOutcome":
        return []
    issues: list[OutcomeIssue] = []
    for raw in body.get("issue") or []:
        if not isinstance(raw, Mapping):
            continue
        expressions = [e for e in raw.get("expression") or [] if isinstance(e, str)]
        if not expressions:
            # `location` is deprecated in R4 but still what many servers send.
            expressions = [e for e in raw.get("location") or [] if isinstance(e, str)]
        details = raw.get("details")
        details = details if isinstance(details, Mapping) else {}
        issues.append(
            OutcomeIssue(
                severity=str(raw.get("severity") or "error"),
                code=str(raw.get("code") or "unknown"),
                diagnostics=raw.get("diagnostics") if isinstance(raw.get("diagnostics"), str) else None,
                details_text=details.get("text") if isinstance(details.get("text"), str) else None,
                expression=tuple(expressions),
            )
        )
    return issues


# ---------------------------------------------------------------------------------------------
# Small pure helpers


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), else None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    current = now if now is not None else time.time()
    return max(0.0, when.timestamp() - current)


def _status_code(status: int) -> FhirErrorCode:
    """Map an HTTP error status to its FhirErrorCode."""
    return {
        401: FhirErrorCode.UNAUTHORIZED,
        403: FhirErrorCode.FORBIDDEN,
        404: FhirErrorCode.NOT_FOUND,
        405: FhirErrorCode.NOT_SUPPORTED,
        410: FhirErrorCode.GONE,
        409: FhirErrorCode.CONFLICT,
        412: FhirErrorCode.PRECONDITION_FAILED,
        400: FhirErrorCode.INVALID,
        422: FhirErrorCode.INVALID,
        429: FhirErrorCode.RATE_LIMITED,
        501: FhirErrorCode.NOT_SUPPORTED,
        503: FhirErrorCode.UNAVAILABLE,
    }.get(status, FhirErrorCode.SERVER_ERROR if status >= 500 else FhirErrorCode.INVALID)


def _entry_status(entry_response: Mapping[str, Any]) -> int | None:
    """HTTP status number from a Bundle.entry.response.status such as '201 Created'."""
    match = re.match(r"\s*(\d{3})", str(entry_response.get("status") or ""))
    return int(match.group(1)) if match else None


def _entry_is_idempotent(entry: Mapping[str, Any]) -> bool:
    """True when replaying this Bundle.entry.request cannot duplicate or clobber data."""
    req = entry.get("request") or {}
    method = str(req.get("method") or "").upper()
    if method in ("GET", "HEAD", "DELETE"):
        return True
    if method == "PUT":
        return bool(req.get("ifMatch"))
    if method == "POST":
        return bool(req.get("ifNoneExist"))
    return False


def _etag_header(version: str) -> str:
    """Format a version id or ETag as an If-Match header value (W/"v")."""
    version = version.strip()
    if version.startswith('W/"') or version.startswith('"'):
        return version
    return f'W/"{version}"'


def _version_from_etag(etag: str | None) -> str | None:
    """Extract the version id from an ETag such as W/"3"."""
    if not etag:
        return None
    match = re.match(r'^(?:W/)?"([^"]*)"$', etag.strip())
    return match.group(1) if match else None


def _parse_location(location: str | None) -> tuple[str | None, str | None]:
    """(id, version id) from a Location like `.../Type/id/_history/vid`."""
    if not location:
        return None, None
    path = urlsplit(location).path.rstrip("/")
    match = re.search(r"/?([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/([A-Za-z0-9\-.]{1,64}))?$", path)
    if not match:
        return None, None
    return match.group(2), match.group(3)


# Module-level cache of CapabilityStatements: {base_url: (expires_at, statement)}.
_CAPABILITIES_CACHE: dict[str, tuple[float, dict]] = {}
_CAPABILITIES_LOCK = threading.Lock()


def clear_capabilities_cache() -> None:
    """Forget every cached CapabilityStatement (tests, or after a server upgrade)."""
    with _CAPABILITIES_LOCK:
        _CAPABILITIES_CACHE.clear()


# ---------------------------------------------------------------------------------------------
# The client


@dataclass(frozen=True)
class Exchange:
    """One HTTP exchange with a FHIR server as listeners see it: no URL, no body, no token."""

    method: str
    resource_type: str  # "-" when the request names none (a batch or transaction)
    status: int | None  # None when no response came back
    ms: int
    attempt: int
    correlation_id: str
    error: str | None = None
    read_types: tuple[str, ...] = ()  # a batch of reads only: the types its entries read (one request reads them all)

    @property
    def ok(self) -> bool:
        """A response below 400 came back."""
        return self.status is not None and self.status < 400


_exchange_listeners: list[Callable[[Exchange], None]] = []


def add_exchange_listener(listener: Callable[[Exchange], None]) -> None:
    """Call `listener` after every FHIR exchange in this process (adding it twice is a no-op)."""
    if listener not in _exchange_listeners:
        _exchange_listeners.append(listener)



@dataclass(frozen=True)
class Reply:
    """One HTTP response from the EHR, its body already read whole within the budget."""

    status_code: int
    headers: Mapping[str, str]  # case-insensitive (requests' header mapping)
    content: bytes

    def json(self) -> Any:
        """The body as JSON (RFC 8259: UTF-8, -16 or -32 detected); ValueError when it is not JSON."""
        return json.loads(self.content)

class FhirClient:
    """A FHIR R4 REST client bound to one server base URL and one launch's token."""

    def __init__(
        self,
        base_url: str,
        *,
        token: Callable[[], str],
        on_unauthorized: Callable[[], str] | None = None,
        session: requests.Session | None = None,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        correlation_id: str | None = None,
        max_retries: int = 3,
        retry_after_cap: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
        backoff_base: float = 0.5,
        jitter: Callable[[], float] = random.random,
        max_pages: int = DEFAULT_MAX_PAGES,
        capabilities_ttl: float = CAPABILITIES_TTL,
        clock: Callable[[], float] = time.monotonic,
        budget: TransportBudget | None = None,
    ) -> None:
        """Bind to `base_url`; `token()` is called per request so refreshed tokens are used.

        `budget` bounds time (per request, and for this client's whole life: one page) and
        response size, measured on `clock`.
        """
        origin = origin_of(base_url)
        if origin is None:
            raise ValueError("FHIR base URL must be an absolute http(s) URL without userinfo")
        self.base_url = base_url.rstrip("/")
        self._origin = origin
        self._token = token
        self._on_unauthorized = on_unauthorized
        self._owns_session = session is None
        self._session = session or requests.Session()
        # Never let the environment steer requests that carry a bearer token: a ~/.netrc entry
        # would replace the Authorization header, and HTTP(S)_PROXY would route tokens via a proxy.
        self._session.trust_env = False
        self._timeout = timeout
        self.correlation_id = correlation_id or uuid.uuid4().hex
        self._max_retries = max(0, max_retries)
        self._retry_after_cap = retry_after_cap
        self._sleep = sleep
        self._backoff_base = backoff_base
        self._jitter = jitter
        self._max_pages = max_pages
        self._capabilities_ttl = capabilities_ttl
        self._clock = clock
        self._budget = budget or TransportBudget()
        self._page_deadline = clock() + self._budget.page_seconds
        self._capabilities: dict | None = None

    def close(self) -> None:
        """Release pooled connections (only of a session this client created; a caller's stays open)."""
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> "FhirClient":
        """Use as a context manager so the connection pool is released on exit."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close on leaving the block."""
        self.close()

    # -- tokens for a fan-out (smart_app/ehr/reads.py) ------------------------------------------

    def current_token(self) -> str:
        """A valid access token now, refreshed first when it is about to expire: called before a fan-out."""
        return self._token()

    def with_token(self, token: str) -> "FhirClient":
        """This client fixed to `token` and never refreshing, for pool threads: a 401 comes back as an
        error, and the caller refreshes in its own thread (`token_after_401`) and asks again."""
        pinned = copy.copy(self)
        pinned._token = lambda: token
        pinned._on_unauthorized = None
        pinned._owns_session = False
        return pinned

    def token_after_401(self) -> str | None:
        """A refreshed token after the server rejected ours; None when this client cannot refresh."""
        return self._on_unauthorized() if self._on_unauthorized is not None else None

    # -- URL building -------------------------------------------------------------------------

    def _type_url(self, resource_type: str, *parts: str) -> str:
        """Absolute URL for `Type[/part...]`, validating type and ids and percent-encoding parts."""
        if not _TYPE_RE.match(resource_type):
            raise ValueError("not a FHIR resource type")
        for part in parts:
            if not _ID_RE.match(part):
                raise ValueError("not a FHIR id")
        return "/".join([self.base_url, resource_type, *(quote(p, safe="") for p in parts)])

    def _relative_url(self, path: str) -> str:
        """Absolute URL for a caller-supplied relative path, refusing anything off this server."""
        if not _RELATIVE_PATH_RE.match(path) or ".." in path.split("?", 1)[0]:
            raise ValueError("read paths must be relative FHIR paths like 'Patient/123'")
        return f"{self.base_url}/{path}"

    def _same_server(self, url: str) -> bool:
        """True when `url` is on this FHIR base: same scheme, host and port, and under the base path.

        The path matters too: on a multi-tenant host `/tenant-b/fhir` is another server, and
        it must never receive this launch's token.
        """
        if origin_of(url) != self._origin:
            return False
        path = urlsplit(url).path
        # Dot segments (also percent-encoded) could climb out of the base after normalisation.
        if any(unquote(segment) in (".", "..") for segment in path.split("/")):
            return False
        base_path = urlsplit(self.base_url).path.rstrip("/")
        return path.rstrip("/") == base_path or path.startswith(base_path + "/")

    # -- transport ------------------------------------------------------------------------------

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter for retry number `attempt` (0-based), capped."""
        ceiling = min(self._retry_after_cap, self._backoff_base * (2 ** attempt))
        return ceiling * (0.5 + 0.5 * self._jitter())

    def _request(
        self,
        method: str,
        url: str,
        *,
        resource_type: str | None,
        idempotent: bool,
        params: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        read_types: tuple[str, ...] = (),
    ) -> Reply:
        """Send one logical request with auth, retries and error mapping; return a 2xx response.

        `read_types`: for a batch of reads, the types its entries read (told to exchange listeners).
        """
        refreshed = False
        attempt = 0
        # fhirjson keeps Decimal answers exact (70.50 stays 70.50); plain json cannot write them.
        body = None if json_body is None else fhirjson.dumps(json_body).encode("utf-8")
        token = self._token()
        while True:
            all_headers = {
                "Accept": FHIR_JSON,
                "Authorization": f"Bearer {token}",
                "X-Request-ID": self.correlation_id,
            }
            if json_body is not None:
                all_headers["Content-Type"] = f"{FHIR_JSON}; charset=utf-8"
            all_headers.update(headers or {})
            started = time.monotonic()
            deadline = min(self._clock() + self._budget.request_seconds, self._page_deadline)
            if self._clock() >= self._page_deadline:
                raise FhirError(FhirErrorCode.DEADLINE_EXCEEDED, method=method, resource_type=resource_type)
            try:
                streamed = self._session.request(
                    method, url, params=params, data=None if json_body is None else body, headers=all_headers,
                    timeout=self._timeout_within(deadline), allow_redirects=False, stream=True,
                )
                response = self._receive(streamed, deadline, method, resource_type)
            except FhirError as exc:
                self._log(method, resource_type, None, started, attempt, error=str(exc.code), read_types=read_types)
                raise
            except (requests.ConnectionError, requests.Timeout) as exc:
                self._log(method, resource_type, None, started, attempt, error=type(exc).__name__, read_types=read_types)
                if isinstance(exc, requests.Timeout) and self._clock() >= deadline:
                    raise FhirError(FhirErrorCode.DEADLINE_EXCEEDED, method=method, resource_type=resource_type) from None
                if idempotent and attempt < self._max_retries:
                    self._sleep(self._backoff(attempt))
                    attempt += 1
                    continue
                raise FhirError(FhirErrorCode.NETWORK, method=method, resource_type=resource_type) from None
            except requests.RequestException:
                self._log(method, resource_type, None, started, attempt, error="RequestException", read_types=read_types)
                raise FhirError(FhirErrorCode.NETWORK, method=method, resource_type=resource_type) from None
            status = response.status_code
            self._log(method, resource_type, status, started, attempt, read_types=read_types)
            if 200 <= status < 300:
                return response
            if status == 401 and self._on_unauthorized is not None and not refreshed:
                # The server rejected the token before doing anything, so a replay is safe for any method.
                refreshed = True
                token = self._on_unauthorized()
                continue
            if status in (429, 503):
                wait = parse_retry_after(response.headers.get("Retry-After"))
                if idempotent and attempt < self._max_retries:
                    if wait is None:
                        wait = self._backoff(attempt)
                    if wait <= self._retry_after_cap:
                        self._sleep(wait)
                        attempt += 1
                        continue
                    # Longer than we may block a request: hand the server's wait to the caller/outbox.
                raise self._error(response, method, resource_type, retry_after=wait)
            if status >= 500 and status != 501 and idempotent and attempt < self._max_retries:
                self._sleep(self._backoff(attempt))
                attempt += 1
                continue
            raise self._error(response, method, resource_type)

    def _timeout_within(self, deadline: float) -> float | tuple[float, float]:
        """The socket timeouts, with the read timeout cut to what is left of the deadline (waiting for headers too)."""
        left = max(deadline - self._clock(), 0.001)
        if isinstance(self._timeout, tuple):
            return (self._timeout[0], min(self._timeout[1], left))
        return min(self._timeout, left)

    def _receive(self, response: requests.Response, deadline: float, method: str, resource_type: str | None) -> Reply:
        """Read the streamed body within the deadline and the size cap: the response as a Reply."""
        try:
            body = read_body(response, max_bytes=self._budget.max_response_bytes, deadline=deadline, clock=self._clock)
        except BodyRefused as refused:
            code = FhirErrorCode.RESPONSE_TOO_LARGE if refused.reason == "too_large" else FhirErrorCode.DEADLINE_EXCEEDED
            raise FhirError(code, status=response.status_code, method=method, resource_type=resource_type) from None
        response.close()  # releases the (fully read) connection back to the pool
        return Reply(status_code=response.status_code, headers=response.headers, content=body)

    def _error(self, response: Reply, method: str, resource_type: str | None,
               *, retry_after: float | None = None) -> FhirError:
        """Build a FhirError from a non-2xx response, parsing any OperationOutcome body."""
        try:
            body = response.json()
        except ValueError:
            body = None
        code = _status_code(response.status_code)
        if 300 <= response.status_code < 400:
            # We never follow redirects: they could carry the token to another host.
            code = FhirErrorCode.BAD_RESPONSE
        return FhirError(code, status=response.status_code, issues=parse_operation_outcome(body),
                         method=method, resource_type=resource_type, retry_after=retry_after)

    def _log(self, method: str, resource_type: str | None, status: int | None, started: float,
             attempt: int, *, error: str | None = None, read_types: tuple[str, ...] = ()) -> None:
        """Log one HTTP exchange and tell the exchange listeners; never tokens, URLs or bodies."""
        exchange = Exchange(method=method, resource_type=resource_type or "-", status=status,
                            ms=int((time.monotonic() - started) * 1000), attempt=attempt,
                            correlation_id=self.correlation_id, error=error, read_types=read_types)
        log.info(
            "fhir %s %s status=%s ms=%d attempt=%d cid=%s%s",
            exchange.method, exchange.resource_type, status if status is not None else "-",
            exchange.ms, attempt, self.correlation_id, f" error={error}" if error else "",
        )
        for listener in tuple(_exchange_listeners):
            try:
                listener(exchange)
            except Exception:  # an observer's bug must never fail or retry the FHIR call itself
                log.exception("fhir exchange listener %s failed", getattr(listener, "__name__", listener))

    @staticmethod
    def _json(response: Reply, method: str, resource_type: str | None) -> Any:
        """Decode a JSON body or raise BAD_RESPONSE."""
        try:
            return response.json()
        except ValueError:
            raise FhirError(FhirErrorCode.BAD_RESPONSE, status=response.status_code,
                            method=method, resource_type=resource_type) from None

    def _resource(self, response: Reply, method: str, resource_type: str | None,
                  expect: str | None = None) -> dict:
        """Decode a resource body, checking its resourceType when one is expected."""
        body = self._json(response, method, resource_type)
        if not isinstance(body, dict) or (expect and body.get("resourceType") != expect):
            raise FhirError(FhirErrorCode.BAD_RESPONSE, status=response.status_code,
                            method=method, resource_type=resource_type)
        return body

    # -- reads ----------------------------------------------------------------------------------

    def read(self, resource_type: str, resource_id: str) -> dict:
        """GET Type/id."""
        url = self._type_url(resource_type, resource_id)
        response = self._request("GET", url, resource_type=resource_type, idempotent=True)
        return self._resource(response, "GET", resource_type, expect=resource_type)

    def vread(self, resource_type: str, resource_id: str, version_id: str) -> dict:
        """GET Type/id/_history/vid."""
        self._type_url(resource_type, version_id)  # validates the version id like any id
        url = f"{self._type_url(resource_type, resource_id)}/_history/{version_id}"
        response = self._request("GET", url, resource_type=resource_type, idempotent=True)
        return self._resource(response, "GET", resource_type, expect=resource_type)

    def search(self, resource_type: str,
               params: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None,
               *, max_pages: int | None = None) -> SearchResult:
        """GET Type?params and follow same-origin `next` links, at most `max_pages` pages.

        Returns matches then includes. A search that reaches its page limit while the server
        still offers a `next` page returns what it read with `truncated=True` (logged here):
        more data than the limit is never turned into an error or into no data.
        """
        url = self._type_url(resource_type)
        query: Any = list(params.items()) if isinstance(params, Mapping) else list(params or [])
        return self._pages(resource_type, url, query, max_pages or self._max_pages)

    def continue_search(self, resource_type: str, first_page: Mapping[str, Any], *, max_pages: int | None = None) -> SearchResult:
        """A search whose first page (a searchset Bundle) came some other way, e.g. as a batch entry:
        follow its same-origin `next` links like `search`, at most `max_pages` pages in all."""
        return self._pages(resource_type, None, None, max_pages or self._max_pages, first_page=first_page)

    def _pages(self, resource_type: str, url: str | None, query: Any, limit: int,
               first_page: Mapping[str, Any] | None = None) -> SearchResult:
        """Read up to `limit` pages from `url` (or after `first_page`): matches then includes, `truncated` when cut short."""
        matches: list[dict] = []
        included: list[dict] = []
        total: int | None = None
        for page in range(limit):
            if page == 0 and first_page is not None:
                bundle: Mapping[str, Any] = first_page
            else:
                response = self._request("GET", str(url), resource_type=resource_type, idempotent=True, params=query)
                bundle = self._resource(response, "GET", resource_type, expect="Bundle")
            if page == 0 and isinstance(bundle.get("total"), int):
                total = bundle["total"]
            for entry in bundle.get("entry") or []:
                resource = entry.get("resource") if isinstance(entry, Mapping) else None
                if not isinstance(resource, dict):
                    continue
                mode = (entry.get("search") or {}).get("mode", "match")
                if mode == "outcome":
                    continue
                (included if mode == "include" else matches).append(resource)
            next_url = next(
                (link.get("url") for link in bundle.get("link") or []
                 if isinstance(link, Mapping) and link.get("relation") == "next"),
                None,
            )
            if not next_url:
                return SearchResult(matches, included, total, pages=page + 1)
            if not self._same_server(next_url):
                log.warning("fhir refusing off-server next link type=%s cid=%s", resource_type, self.correlation_id)
                raise FhirError(FhirErrorCode.OFF_SERVER_LINK, method="GET", resource_type=resource_type)
            url, query = next_url, None
        log.info("fhir search stopped at its page limit type=%s pages=%d matches=%d cid=%s",
                 resource_type, limit, len(matches), self.correlation_id)
        return SearchResult(matches, included, total, truncated=True, pages=limit)

    def get(self, path: str) -> dict:
        """GET one path relative to this server (`Type/id` or `Type?query`): the body, or FhirError."""
        url = self._relative_url(path)
        resource_type = path.split("/", 1)[0].split("?", 1)[0]
        response = self._request("GET", url, resource_type=resource_type, idempotent=True)
        return self._resource(response, "GET", resource_type)

    def batch(self, requests_: Sequence[tuple[str, str]]) -> list[dict | FhirError]:
        """Send (method, relative url) pairs as one batch Bundle; one slot per entry, in order."""
        entries = []
        for method, path in requests_:
            self._relative_url(path)  # validates: a batch must not name another server
            entries.append({"request": {"method": method.upper(), "url": path}})
        bundle = {"resourceType": "Bundle", "type": "batch", "entry": entries}
        idempotent = all(_entry_is_idempotent(e) for e in entries)
        reads_only = all(method.upper() == "GET" for method, _ in requests_)
        read_types = tuple(sorted({path.split("/", 1)[0].split("?", 1)[0] for _, path in requests_})) if reads_only else ()
        response = self._request("POST", self.base_url, resource_type="Bundle", idempotent=idempotent,
                                 json_body=bundle, read_types=read_types)
        reply = self._resource(response, "POST", "Bundle", expect="Bundle")
        reply_entries = reply.get("entry") or []
        if len(reply_entries) != len(entries):
            raise FhirError(FhirErrorCode.BAD_RESPONSE, status=response.status_code, method="POST",
                            resource_type="Bundle")
        results: list[dict | FhirError] = []
        for (method, path), entry in zip(requests_, reply_entries):
            entry = entry if isinstance(entry, Mapping) else {}
            entry_response = entry.get("response") or {}
            status = _entry_status(entry_response)
            resource_type = path.split("/", 1)[0].split("?", 1)[0]
            if status is not None and 200 <= status < 300:
                resource = entry.get("resource")
                results.append(resource if isinstance(resource, dict) else {})
            else:
                results.append(FhirError(
                    _status_code(status) if status else FhirErrorCode.BAD_RESPONSE, status=status,
                    issues=parse_operation_outcome(entry_response.get("outcome")),
                    method=method.upper(), resource_type=resource_type,
                ))
        return results

    # -- writes ---------------------------------------------------------------------------------

    def transaction(self, bundle: Mapping[str, Any]) -> dict:
        """POST a transaction Bundle; retried only when every entry is conditional or idempotent."""
        if bundle.get("resourceType") != "Bundle" or bundle.get("type") != "transaction":
            raise ValueError("transaction() needs a Bundle of type transaction")
        check_outgoing(bundle)
        idempotent = all(_entry_is_idempotent(e) for e in bundle.get("entry") or [])
        response = self._request("POST", self.base_url, resource_type="Bundle", idempotent=idempotent,
                                 json_body=bundle)
        reply = self._resource(response, "POST", "Bundle", expect="Bundle")
        if reply.get("type") != "transaction-response" or \
                len(reply.get("entry") or []) != len(bundle.get("entry") or []):
            raise FhirError(FhirErrorCode.BAD_RESPONSE, status=response.status_code, method="POST",
                            resource_type="Bundle")
        return reply

    def create(self, resource: Mapping[str, Any], *, if_none_exist: str | None = None) -> WriteResult:
        """POST Type (conditional when `if_none_exist` is given; only then is it retried)."""
        resource_type = str(resource.get("resourceType") or "")
        url = self._type_url(resource_type)
        check_outgoing(resource)
        headers = {"Prefer": "return=representation"}
        if if_none_exist:
            headers["If-None-Exist"] = if_none_exist
        response = self._request("POST", url, resource_type=resource_type, idempotent=bool(if_none_exist),
                                 json_body=dict(resource), headers=headers)
        return self._write_result(response, resource_type)

    def update(self, resource: Mapping[str, Any], *, if_match: str | None = None) -> WriteResult:
        """PUT Type/id (version-aware when `if_match` is given; only then is it retried)."""
        resource_type = str(resource.get("resourceType") or "")
        url = self._type_url(resource_type, str(resource.get("id") or ""))
        check_outgoing(resource)
        headers = {"Prefer": "return=representation"}
        if if_match:
            headers["If-Match"] = _etag_header(if_match)
        response = self._request("PUT", url, resource_type=resource_type, idempotent=bool(if_match),
                                 json_body=dict(resource), headers=headers)
        return self._write_result(response, resource_type)

    def delete(self, resource_type: str, resource_id: str) -> None:
        """DELETE Type/id (idempotent in FHIR: deleting twice is not an error)."""
        url = self._type_url(resource_type, resource_id)
        self._request("DELETE", url, resource_type=resource_type, idempotent=True)

    def _write_result(self, response: Reply, resource_type: str) -> WriteResult:
        """Summarise a create/update response from its headers and (optional) body."""
        body: dict | None = None
        if response.content:
            try:
                decoded = response.json()
            except ValueError:
                decoded = None
            if isinstance(decoded, dict) and decoded.get("resourceType") == resource_type:
                body = decoded
        location = response.headers.get("Location") or response.headers.get("Content-Location")
        loc_id, loc_version = _parse_location(location)
        etag = response.headers.get("ETag")
        meta = (body or {}).get("meta") or {}
        return WriteResult(
            status=response.status_code,
            resource_type=resource_type,
            id=(body or {}).get("id") or loc_id,
            version_id=meta.get("versionId") or loc_version or _version_from_etag(etag),
            location=location,
            etag=etag,
            last_modified=meta.get("lastUpdated") or response.headers.get("Last-Modified"),
            resource=body,
        )

    # -- capabilities ---------------------------------------------------------------------------

    def capabilities(self, *, retries: bool = True) -> dict:
        """GET /metadata once per client, shared across clients of the same base URL for a TTL
        (`retries=False`: one attempt, for a caller that can do without it)."""
        if self._capabilities is not None:
            return self._capabilities
        now = self._clock()
        with _CAPABILITIES_LOCK:
            cached = _CAPABILITIES_CACHE.get(self.base_url)
        if cached and cached[0] > now:
            self._capabilities = cached[1]
            return cached[1]
        response = self._request("GET", f"{self.base_url}/metadata", resource_type="CapabilityStatement",
                                 idempotent=retries)
        statement = self._resource(response, "GET", "CapabilityStatement", expect="CapabilityStatement")
        with _CAPABILITIES_LOCK:
            _CAPABILITIES_CACHE[self.base_url] = (now + self._capabilities_ttl, statement)
        self._capabilities = statement
        return statement

    def known_capabilities(self) -> dict | None:
        """The CapabilityStatement when this process already holds a fresh copy; never any I/O."""
        if self._capabilities is not None:
            return self._capabilities
        with _CAPABILITIES_LOCK:
            cached = _CAPABILITIES_CACHE.get(self.base_url)
        return cached[1] if cached and cached[0] > self._clock() else None

    def _server_rest(self) -> list[Mapping[str, Any]]:
        """The CapabilityStatement.rest entries in server mode."""
        return [r for r in self.capabilities().get("rest") or []
                if isinstance(r, Mapping) and r.get("mode", "server") == "server"]

    def supports_transaction(self) -> bool:
        """True when the server declares the system-level `transaction` interaction."""
        return any(
            isinstance(i, Mapping) and i.get("code") == "transaction"
            for rest in self._server_rest() for i in rest.get("interaction") or []
        )

    def supports_conditional_create(self, resource_type: str) -> bool:
        """True when the server declares conditionalCreate for `resource_type`."""
        return any(
            isinstance(r, Mapping) and r.get("type") == resource_type and r.get("conditionalCreate") is True
            for rest in self._server_rest() for r in rest.get("resource") or []
        )

