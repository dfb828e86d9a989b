"""Read plans: the EHR reads a page needs, declared as data, and the one executor that runs them.

A page names its reads in a `ReadPlan` (a resource by path, or a search with a page limit). `run`
sends them as one FHIR batch Bundle (https://hl7.org/fhir/R4/http.html#transaction) when the
server's CapabilityStatement declares the system `batch` interaction, else as parallel GETs on
this process's one read pool. Either way the plan costs one round trip of depth, and a search's
further pages (same server only, `FhirClient.continue_search`) follow within its own limit.

Rules the code enforces rather than a comment:
- The token is made fresh (refreshed when about to expire) in the caller's thread before the
  fan-out. Pool threads use a client fixed to that token that never refreshes; a 401 comes back
  to the caller, which refreshes once in its own thread and asks again.
- Pool threads only ever run one `FhirClient` call built here from a `Read`; nothing they run
  submits to the pool, so the pool cannot deadlock, and `run` refuses to be called on it.
- The pool is bounded (`POOL_THREADS`): when it is busy, reads wait their turn.

`RequestReads` is the one request-scoped holder: each read runs at most once per request, and
what a page builds from its reads (the questionnaire catalog) is kept beside them.
"""
from __future__ import annotations

import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, Iterable, Iterator, Mapping, TypeVar
from urllib.parse import urlencode

from smart_app.ehr.client import FhirClient, FhirError, FhirErrorCode

T = TypeVar("T")
# The process's one pool for EHR reads: a gunicorn worker's 8 request threads each fan out a page of
# a few reads, so 16 keeps two pages' waves in flight at once; beyond that reads queue, never new threads.
POOL_THREADS = 16
POOL_PREFIX = "ehr-read"
# A server whose /metadata failed is asked again after this long, not on every page meanwhile.
LEARN_RETRY_SECONDS = 60.0
# A batch the server turns away as a whole for these reasons is sent again as separate GETs.
BATCH_REFUSED = frozenset({FhirErrorCode.NOT_SUPPORTED, FhirErrorCode.INVALID, FhirErrorCode.NOT_FOUND})

Result = Any  # dict (one resource) | SearchResult (a search) | FhirError (that read failed)


@dataclass(frozen=True)
class Read:
    """One read a page needs: `path` relative to the server; `pages` 0 for one resource, else a search
    that follows at most `pages` pages (`SearchResult.truncated` says when the server had more)."""

    name: str
    path: str
    pages: int = 0

    @classmethod
    def resource(cls, name: str, resource_type: str, resource_id: str) -> "Read":
        """GET Type/id."""
        return cls(name, f"{resource_type}/{resource_id}")

    @classmethod
    def search(cls, name: str, resource_type: str, params: Iterable[tuple[str, str]], *, max_pages: int = 1) -> "Read":
        """GET Type?params, following at most `max_pages` pages."""
        if max_pages < 1:
            raise ValueError("a search reads at least one page")
        query = urlencode(list(params))
        return cls(name, f"{resource_type}?{query}" if query else resource_type, max_pages)

    @property
    def resource_type(self) -> str:
        """The type the path names first."""
        return self.path.split("/", 1)[0].split("?", 1)[0]

    @property
    def key(self) -> tuple[str, int]:
        """What makes two reads the same request (names are the caller's own)."""
        return (self.path, self.pages)


@dataclass(frozen=True)
class ReadPlan:
    """The reads one page (or one part of it) needs, by name."""

    reads: tuple[Read, ...] = ()

    def __post_init__(self) -> None:
        """One meaning per name: the same name twice must be the same read."""
        seen: dict[str, tuple[str, int]] = {}
        for read in self.reads:
            if seen.setdefault(read.name, read.key) != read.key:
                raise ValueError(f"two different reads named {read.name!r}")

    @classmethod
    def of(cls, *reads: Read | None) -> "ReadPlan":
        """A plan of these reads (None entries, reads a launch may not make, left out)."""
        return cls(tuple(r for r in reads if r is not None))

    def __add__(self, other: "ReadPlan") -> "ReadPlan":
        """Both plans' reads, each once."""
        known = set(self.reads)
        return ReadPlan(self.reads + tuple(r for r in other.reads if r not in known))

    def __len__(self) -> int:
        """How many reads."""
        return len(self.reads)

    def __iter__(self) -> Iterator[Read]:
        """The reads in order."""
        return iter(self.reads)


class ReadResults(Mapping[str, Result]):
    """Each read's outcome by name: a resource dict, a SearchResult, or the FhirError of that read alone."""

    def __init__(self, outcomes: Mapping[str, Result]) -> None:
        """Wrap the outcomes."""
        self._outcomes = dict(outcomes)

    def __getitem__(self, name: str) -> Result:
        """The outcome of read `name`."""
        return self._outcomes[name]

    def __iter__(self) -> Iterator[str]:
        """The names."""
        return iter(self._outcomes)

    def __len__(self) -> int:
        """How many outcomes."""
        return len(self._outcomes)

    def value(self, name: str) -> Any:
        """The read's resource or SearchResult; None when it failed or was not planned."""
        found = self._outcomes.get(name)
        return None if isinstance(found, FhirError) else found

    def error(self, name: str) -> FhirError | None:
        """The read's FhirError, or None."""
        found = self._outcomes.get(name)
        return found if isinstance(found, FhirError) else None


# ------------------------------------------------------------------------------------- the pool

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_learn_after: dict[str, float] = {}  # base URL -> when to try its /metadata again (bounded by the servers registered)


def _read_pool() -> ThreadPoolExecutor:
    """This process's read pool, started on first use."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=POOL_THREADS, thread_name_prefix=POOL_PREFIX)
        return _pool


def _forget_pool() -> None:
    """A forked child starts its own pool (its parent's threads did not come with it)."""
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool)


def on_pool_thread() -> bool:
    """True on one of the read pool's threads."""
    return threading.current_thread().name.startswith(POOL_PREFIX + "_")


def submit_probe(call: Callable[[], T]) -> "Future[T]":
    """Run one self-contained EHR call that submits nothing itself (a readiness probe's discovery) on the
    read pool, so the process has one bounded pool; the caller may stop waiting and let it finish."""
    return _read_pool().submit(call)


# ---------------------------------------------------------------------------------- the executor


def supports_batch(statement: Mapping[str, Any] | None) -> bool:
    """Whether a CapabilityStatement declares the system-level `batch` interaction (server mode)."""
    return any(
        isinstance(rest, Mapping) and rest.get("mode", "server") == "server" and isinstance(i, Mapping)
        and i.get("code") == "batch"
        for rest in (statement or {}).get("rest") or [] for i in rest.get("interaction") or []
    )


def run(fhir: FhirClient, plan: ReadPlan, *, batch: bool | None = None) -> ReadResults:
    """Run every read of the plan at once and return each one's outcome.

    `batch` True or False decides the way; None decides by the CapabilityStatement this process
    already holds for the server, and when it holds none, learns it in the same wave (on the pool)
    so the next plan can batch. The token is made fresh here, before anything fans out.
    """
    if on_pool_thread():
        raise RuntimeError("a read plan cannot run on a read pool thread")
    reads = list(plan)
    if not reads:
        return ReadResults({})
    learn = False
    if batch is None:
        statement = fhir.known_capabilities()
        batch = supports_batch(statement)
        learn = statement is None and len(reads) > 1 and time.monotonic() >= _learn_after.get(fhir.base_url, 0.0)
    token = fhir.current_token()
    if batch and len(reads) > 1:
        outcomes = _batched(fhir, token, reads)
    else:
        outcomes = _pooled(fhir, token, reads, learn=learn)
    return ReadResults({read.name: outcome for read, outcome in zip(reads, outcomes)})


def _pooled(fhir: FhirClient, token: str, reads: list[Read], *, learn: bool) -> list[Result]:
    """One GET per read, all at once on the pool (a single read runs here: no thread for it)."""
    calls: list[Callable[[FhirClient], Result]] = [partial(_get, read=read) for read in reads]
    if learn:
        calls.append(_learn_capabilities)
    return _fan_out(fhir, token, calls)[:len(reads)]


def _batched(fhir: FhirClient, token: str, reads: list[Read]) -> list[Result]:
    """One batch Bundle of GETs; then any search's further pages, within its limit, all at once."""
    try:
        replies = fhir.batch([("GET", read.path) for read in reads])
    except FhirError as error:
        if error.code in BATCH_REFUSED:
            return _pooled(fhir, fhir.current_token(), reads, learn=False)
        return [error for _ in reads]
    outcomes: list[Result] = []
    more: dict[int, Callable[[FhirClient], Result]] = {}
    for index, (read, reply) in enumerate(zip(reads, replies)):
        if isinstance(reply, FhirError) or not read.pages:
            outcomes.append(reply)
        elif reply.get("resourceType") != "Bundle":
            outcomes.append(FhirError(FhirErrorCode.BAD_RESPONSE, method="GET", resource_type=read.resource_type))
        elif read.pages > 1 and _has_next(reply):
            outcomes.append(None)
            more[index] = partial(_next_pages, read=read, page=reply)
        else:
            outcomes.append(_settled(partial(_next_pages, fhir, read=read, page=reply)))
    for index, outcome in zip(more, _fan_out(fhir, fhir.current_token(), list(more.values())) if more else []):
        outcomes[index] = outcome
    return outcomes


def _next_pages(client: FhirClient, read: Read, page: dict[str, Any]) -> Result:
    """A search's further pages after a first page that came in a batch, within the read's limit."""
    return client.continue_search(read.resource_type, page, max_pages=read.pages)


def _fan_out(fhir: FhirClient, token: str, calls: list[Callable[[FhirClient], Result]]) -> list[Result]:
    """Run the calls on the pool with a client fixed to `token`; calls the server answered 401 are
    asked once more after one refresh in this thread. One call runs here, with the usual client."""
    if len(calls) == 1:
        return [_settled(lambda: calls[0](fhir))]
    pinned = fhir.with_token(token)
    pool = _read_pool()
    futures = [pool.submit(_settled, partial(call, pinned)) for call in calls]
    outcomes = [future.result() for future in futures]
    rejected = [i for i, o in enumerate(outcomes) if isinstance(o, FhirError) and o.code is FhirErrorCode.UNAUTHORIZED]
    if rejected:
        fresh = fhir.token_after_401()
        if fresh is not None:
            again = fhir.with_token(fresh)
            retried = [pool.submit(_settled, partial(calls[i], again)) for i in rejected]
            for i, future in zip(rejected, retried):
                outcomes[i] = future.result()
    return outcomes


def _get(client: FhirClient, read: Read) -> Result:
    """One read as a plain GET: the resource, or a search paged within its limit."""
    body = client.get(read.path)
    if not read.pages:
        return body
    if body.get("resourceType") != "Bundle":
        raise FhirError(FhirErrorCode.BAD_RESPONSE, method="GET", resource_type=read.resource_type)
    return client.continue_search(read.resource_type, body, max_pages=read.pages)


def _learn_capabilities(client: FhirClient) -> Result:
    """Fetch and cache the server's CapabilityStatement in one attempt; a failure costs the page nothing
    and is not tried again for LEARN_RETRY_SECONDS."""
    try:
        return client.capabilities(retries=False)
    except FhirError:
        _learn_after[client.base_url] = time.monotonic() + LEARN_RETRY_SECONDS
        raise


def _settled(call: Callable[[], Result]) -> Result:
    """The call's result, or the FhirError it raised (one read's failure is that read's alone)."""
    try:
        return call()
    except FhirError as error:
        return error


def _has_next(bundle: Mapping[str, Any]) -> bool:
    """Whether a searchset page links a next page."""
    return any(isinstance(link, Mapping) and link.get("relation") == "next" for link in bundle.get("link") or [])


# ------------------------------------------------------------------------------ request-scoped


class RequestReads:
    """What one request has read from one launch's server, and what it built from that.

    Each read (by path and page limit) runs at most once per request, so parts of a page that
    declare the same read share one answer; `built` keeps a value made from the reads (the
    catalog) for the rest of the request. Used by the request's own thread only.
    """

    def __init__(self, fhir: Callable[[], FhirClient], *, batch: bool | None = None) -> None:
        """Read through `fhir()` (made on first use); `batch` as in `run`."""
        self._fhir = fhir
        self._batch = batch
        self._outcomes: dict[tuple[str, int], Result] = {}
        self._built: dict[str, Any] = {}

    def fetch(self, plan: ReadPlan) -> ReadResults:
        """The plan's outcomes, running in one wave only the reads this request has not made yet."""
        missing = ReadPlan(tuple({r.key: r for r in reversed(plan.reads) if r.key not in self._outcomes}.values())[::-1])
        if len(missing):
            done = run(self._fhir(), missing, batch=self._batch)
            for read in missing:
                self._outcomes[read.key] = done[read.name]
        return ReadResults({read.name: self._outcomes[read.key] for read in plan})

    def built(self, name: str, build: Callable[[], T]) -> T:
        """`build()`'s value, made once per request under `name`."""
        if name not in self._built:
            self._built[name] = build()
        return self._built[name]
