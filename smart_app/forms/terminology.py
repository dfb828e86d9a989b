"""The EHR's own terminology: `ValueSet/$expand` for answer lists a Questionnaire does not contain.

Issue 13, scope 4. Only the launch's FHIR server is asked, through its FhirClient (same origin,
the launch's token), and only when its CapabilityStatement declares the ValueSet `expand`
operation (https://hl7.org/fhir/R4/valueset-operation-expand.html). All of a form's value
sets go out in one read plan (smart_app/ehr/reads.py): one batch Bundle when the server declares
`batch`, else parallel GETs on the read pool. Expansions are cached per process, keyed by server and value-set canonical (with its
version when the form pins one), together with the version the server expanded; failures are
remembered briefly so a page never asks again and again. Nothing here is durable data: a
cold cache just asks the EHR once more.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from smart_app.ehr.reads import Read, ReadPlan, run
from smart_app.ehr.client import FhirClient, FhirError
from smart_app.forms.model import Form, with_expansions

log = logging.getLogger(__name__)

CACHE_SIZE = 512
TTL_SECONDS = 3600.0  # an expansion is reused for an hour per server
MISS_TTL_SECONDS = 300.0  # a value set the server cannot expand is not asked for again for 5 minutes
MAX_PER_FORM = 50  # one wave stays bounded even for a hostile form
EXPAND_OPERATION = "expand"


TerminologyClient = FhirClient  # the launch's own client: same origin, the launch's token


@dataclass(frozen=True)
class _Cached:
    """One cache slot: the expanded ValueSet (None: the server could not expand it) and its expiry."""

    value_set: dict[str, Any] | None
    version: str | None
    expires: float


_cache: OrderedDict[tuple[str, str], _Cached] = OrderedDict()
_lock = threading.Lock()


def clear_cache() -> None:
    """Forget every cached expansion and resolved form (tests; a server that changed its value sets)."""
    with _lock:
        _cache.clear()
        _resolved.clear()


def _rest(statement: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Server-mode rest entries of a CapabilityStatement."""
    return [r for r in statement.get("rest") or [] if isinstance(r, Mapping) and r.get("mode", "server") == "server"]


def _is_expand(operation: Any) -> bool:
    """True for an operation entry naming ValueSet/$expand (by name or by its OperationDefinition)."""
    if not isinstance(operation, Mapping):
        return False
    name = str(operation.get("name") or "").lstrip("$")
    definition = str(operation.get("definition") or "")
    return name == EXPAND_OPERATION or definition.endswith("/OperationDefinition/ValueSet-expand")


def supports_expand(statement: Mapping[str, Any]) -> bool:
    """Whether a CapabilityStatement declares ValueSet $expand (on the ValueSet resource or server-wide)."""
    for rest in _rest(statement):
        for resource in rest.get("resource") or []:
            if isinstance(resource, Mapping) and resource.get("type") == "ValueSet" and any(
                    _is_expand(op) for op in resource.get("operation") or []):
                return True
        if any(_is_expand(op) for op in rest.get("operation") or []):
            return True
    return False


def supports_batch(statement: Mapping[str, Any]) -> bool:
    """Whether the server declares the system-level batch interaction."""
    return any(isinstance(i, Mapping) and i.get("code") == "batch"
               for rest in _rest(statement) for i in rest.get("interaction") or [])


def expand_path(canonical: str) -> str:
    """`ValueSet/$expand?url=...` (and `&valueSetVersion=` when the canonical pins a version)."""
    url, _, version = canonical.partition("|")
    path = f"ValueSet/$expand?url={quote(url, safe='')}"
    return f"{path}&valueSetVersion={quote(version, safe='')}" if version else path


def _usable(body: Any) -> dict[str, Any] | None:
    """An expanded ValueSet with at least one code, or None."""
    if not isinstance(body, dict) or body.get("resourceType") != "ValueSet":
        return None
    expansion = body.get("expansion")
    contains = expansion.get("contains") if isinstance(expansion, dict) else None
    return body if isinstance(contains, list) and contains else None


def expand_all(client: TerminologyClient, canonicals: Sequence[str], *,
               clock: Callable[[], float] = time.monotonic) -> dict[str, dict[str, Any]]:
    """Expansions (canonical -> expanded ValueSet) the launch's server gives for these value sets.

    Value sets it cannot expand are left out (the caller falls back to bundled lists, then
    free text). Never raises for a terminology failure: the form still works without it.
    """
    wanted = list(dict.fromkeys(canonicals))[:MAX_PER_FORM]
    if not wanted:
        return {}
    server = client.base_url
    now = clock()
    found: dict[str, dict[str, Any]] = {}
    missing: list[str] = []
    with _lock:
        for canonical in wanted:
            slot = _cache.get((server, canonical))
            if slot is not None and slot.expires > now:
                _cache.move_to_end((server, canonical))
                if slot.value_set is not None:
                    found[canonical] = slot.value_set
            else:
                missing.append(canonical)
    if not missing:
        return found
    try:
        statement = client.capabilities()
    except FhirError as error:
        log.info("terminology: no CapabilityStatement (%s); using bundled lists", error.code)
        return found
    if not supports_expand(statement):
        _remember(server, {c: None for c in missing}, now)
        return found
    plan = ReadPlan(tuple(Read(canonical, expand_path(canonical)) for canonical in missing))
    replies = run(client, plan, batch=supports_batch(statement))
    if all(isinstance(reply, FhirError) and reply.transient for reply in replies.values()):
        # Nothing came back for a reason a later try may cure (the server, the network): not remembered as misses.
        log.info("terminology: expand wave failed (%s); using bundled lists",
                 ",".join(sorted({str(reply.code) for reply in replies.values()})))
        return found
    results: dict[str, dict[str, Any] | None] = {}
    for canonical in missing:
        reply = replies[canonical]
        results[canonical] = None if isinstance(reply, FhirError) else _usable(reply)
    _remember(server, results, now)
    log.info("terminology: expanded %d of %d value sets", sum(v is not None for v in results.values()), len(missing))
    found.update({c: vs for c, vs in results.items() if vs is not None})
    return found


def _remember(server: str, results: Mapping[str, dict[str, Any] | None], now: float) -> None:
    """Cache expansions (and misses, for less time), bounded LRU."""
    with _lock:
        for canonical, value_set in results.items():
            ttl = TTL_SECONDS if value_set is not None else MISS_TTL_SECONDS
            version = value_set.get("version") if value_set is not None else None
            _cache[(server, canonical)] = _Cached(value_set, version if isinstance(version, str) else None, now + ttl)
            _cache.move_to_end((server, canonical))
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)


_resolved: OrderedDict[tuple[int, str], tuple[Form, tuple[str, ...], Form]] = OrderedDict()
RESOLVED_FORMS = 64


def resolve_form(client: TerminologyClient, form: Form) -> Form:
    """The form with its non-contained value sets expanded by the launch's server, where it can.

    The shared form is never changed (model.with_expansions copies it); the copy is kept per
    process, per form object and server, as long as the same expansions apply.
    """
    canonicals = form.external_value_sets()
    if not canonicals:
        return form
    expansions = expand_all(client, canonicals)
    fingerprint = tuple(sorted(f"{c}|{vs.get('version') or ''}|{id(vs)}" for c, vs in expansions.items()))
    key = (id(form), client.base_url)
    with _lock:
        cached = _resolved.get(key)
        if cached is not None and cached[0] is form and cached[1] == fingerprint:
            _resolved.move_to_end(key)
            return cached[2]
    resolved = with_expansions(form, expansions)
    with _lock:
        _resolved[key] = (form, fingerprint, resolved)
        while len(_resolved) > RESOLVED_FORMS:
            _resolved.popitem(last=False)
    return resolved
