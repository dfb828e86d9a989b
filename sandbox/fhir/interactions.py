"""FHIR interactions (read, vread, search, create, update, delete) with scope and compartment checks.

Shared by the HTTP API and by bundle processing so both enforce exactly the same rules.
Each function returns a Result or raises FhirError; none of them touches Flask.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import parse_qsl, urlencode

from sandbox.contracts import AccessGrant
from sandbox.fhir import scopes as fscopes
from sandbox.fhir import search as fsearch
from sandbox.fhir.capability import SUPPORTED_TYPES
from sandbox.fhir.outcome import FhirError
from sandbox.fhir.store import FhirStore, valid_id
from sandbox.fhir.validate import validate


@dataclass
class Context:
    """Who is asking, against which store, and the per-request fault switches."""

    store: FhirStore
    grant: AccessGrant
    base_url: str
    stale_update: bool = False  # a planned fault: answer the next update with 412
    rules: list[fscopes.ScopeRule] = field(default_factory=list)

    def __post_init__(self) -> None:
        """Parse the grant's scopes once per request."""
        self.rules = fscopes.parse_scopes(self.grant.scopes)


@dataclass
class Result:
    """An interaction's outcome: HTTP status, resource (if any) and headers."""

    status: int
    resource: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


def version_headers(resource: dict[str, Any], *, location: bool = False) -> dict[str, str]:
    """ETag and Last-Modified (and optionally Location) for a stored resource."""
    from email.utils import format_datetime

    meta = resource.get("meta", {})
    headers = {"ETag": f'W/"{meta.get("versionId", "1")}"'}
    rng = fsearch.date_range(meta.get("lastUpdated", ""))
    if rng:
        headers["Last-Modified"] = format_datetime(rng[0], usegmt=True)
    if location:
        headers["Location"] = f"{resource['resourceType']}/{resource['id']}/_history/{meta.get('versionId', '1')}"
    return headers


def check_type(type_: str) -> None:
    """404 for resource types this server does not serve."""
    if type_ not in SUPPORTED_TYPES:
        raise FhirError(404, f"resource type {type_!r} is not supported", code="not-supported")


def authorize(ctx: Context, type_: str, letter: str) -> fscopes.Decision:
    """Check the grant's scopes for one interaction letter (c r u d s); 403 when not granted."""
    decision = fscopes.decide(ctx.rules, ctx.grant.patient, type_, letter)
    if not decision.allowed:
        names = {"c": "create", "r": "read", "u": "update", "d": "delete", "s": "search"}
        raise FhirError(403, f"the granted scopes do not allow {names[letter]} of {type_}", code="forbidden")
    return decision


def _resolver(ctx: Context) -> Callable[[str, str], dict | None]:
    """A reader for compartment resolution that yields None for missing resources."""
    def resolve(type_: str, id_: str) -> dict | None:
        """The stored resource, or None."""
        return ctx.store.read(type_, id_) if ctx.store.exists(type_, id_) else None
    return resolve


def _guard(ctx: Context, decision: fscopes.Decision, resource: dict[str, Any]) -> None:
    """403 when the resource lies outside the allowed patient compartment or granular filters."""
    if decision.patient is not None:
        patients = fscopes.compartment_patients(resource, _resolver(ctx))
        if decision.patient not in patients:
            raise FhirError(403, "the resource is outside the patient compartment of this token",
                            code="forbidden")
    if not fscopes.satisfies_filters(resource, decision.filters):
        raise FhirError(403, "the resource is outside the granted scope filter", code="forbidden")


def _permitted(ctx: Context, resource: dict[str, Any], letter: str = "r") -> bool:
    """True when the grant could read this resource (used to filter included resources)."""
    try:
        _guard(ctx, authorize(ctx, resource["resourceType"], letter), resource)
    except FhirError:
        return False
    return True


# ------------------------------------------------------------------ reads

def read(ctx: Context, type_: str, id_: str) -> Result:
    """Read the current version of a resource."""
    check_type(type_)
    decision = authorize(ctx, type_, "r")
    resource = ctx.store.read(type_, id_)
    _guard(ctx, decision, resource)
    return Result(200, resource, version_headers(resource))


def vread(ctx: Context, type_: str, id_: str, version: str) -> Result:
    """Read one version of a resource."""
    check_type(type_)
    decision = authorize(ctx, type_, "r")
    resource = ctx.store.vread(type_, id_, version)
    _guard(ctx, decision, resource)
    return Result(200, resource, version_headers(resource))


def _check_named_patients(type_: str, request: fsearch.SearchRequest, patient: str) -> None:
    """403 when a patient-scoped search names any patient other than the token's."""
    pinned = {"_id"} if type_ == "Patient" else {"patient", "subject", *fscopes.COMPARTMENT.get(type_, ())}
    for criterion in request.criteria:
        if criterion.name not in pinned or criterion.modifier == "missing":
            continue
        for value in criterion.values:
            ref = ("Patient", value) if type_ == "Patient" else fsearch.parse_reference(fsearch.unescape(value))
            if ref is None or ref[1] != patient or ref[0] not in (None, "Patient"):
                raise FhirError(403, f"this token may only search within Patient/{patient}",
                                code="forbidden", expression=[criterion.name])


def _access_filter(ctx: Context, decision: fscopes.Decision) -> Callable[[dict], bool] | None:
    """The predicate a search's matches must meet: inside the compartment and the granular filters."""
    if decision.patient is None and not decision.filters:
        return None
    resolve = _resolver(ctx)

    def allowed(resource: dict) -> bool:
        """True when the token may see this resource."""
        if decision.patient is not None and decision.patient not in fscopes.compartment_patients(resource, resolve):
            return False
        return fscopes.satisfies_filters(resource, decision.filters)
    return allowed


def search(ctx: Context, type_: str, pairs: list[tuple[str, str]], *, lenient: bool = False) -> Result:
    """Search a type, limited to what the token may see (its patient's compartment, scope filters)."""
    check_type(type_)
    decision = authorize(ctx, type_, "s")
    request = fsearch.parse_search(type_, pairs, lenient=lenient)
    if decision.patient is not None:
        _check_named_patients(type_, request, decision.patient)
    matches, included, total = ctx.store.search(type_, request, where=_access_filter(ctx, decision))
    included = [r for r in included if _permitted(ctx, r)]
    return Result(200, _searchset(ctx, type_, pairs, request, matches, included, total))


def _page_link(ctx: Context, type_: str, pairs: list[tuple[str, str]], count: int, offset: int) -> str:
    """Build a paging URL that repeats the original query with a new offset."""
    kept = [(k, v) for k, v in pairs if k not in ("_count", "_offset")]
    return f"{ctx.base_url}/{type_}?" + urlencode(kept + [("_count", str(count)), ("_offset", str(offset))])


def _searchset(ctx: Context, type_: str, pairs: list[tuple[str, str]], request: fsearch.SearchRequest,
               matches: list[dict], included: list[dict], total: int) -> dict[str, Any]:
    """Wrap a page of results as a searchset Bundle with self/next/previous links."""
    count, offset = request.count, request.offset
    links = [{"relation": "self", "url": _page_link(ctx, type_, pairs, count, offset)}]
    if not request.summary_count and count and offset + count < total:
        links.append({"relation": "next", "url": _page_link(ctx, type_, pairs, count, offset + count)})
    if offset > 0 and count:
        links.append({"relation": "previous", "url": _page_link(ctx, type_, pairs, count, max(0, offset - count))})
    entries = [{"fullUrl": f"{ctx.base_url}/{r['resourceType']}/{r['id']}", "resource": r,
                "search": {"mode": "match"}} for r in matches]
    entries += [{"fullUrl": f"{ctx.base_url}/{r['resourceType']}/{r['id']}", "resource": r,
                 "search": {"mode": "include"}} for r in included]
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "total": total, "link": links}
    if entries:
        bundle["entry"] = entries
    return bundle


# ------------------------------------------------------------------ writes

def strip_server_meta(resource: dict[str, Any]) -> None:
    """Drop the server-owned meta elements a client sent, keeping its tags, profiles and security labels."""
    meta = resource.get("meta")
    if isinstance(meta, dict):
        for key in ("versionId", "lastUpdated"):
            meta.pop(key, None)
        if not meta:
            resource.pop("meta")


def check_body(type_: str, body: Any, *, id_: str | None = None) -> dict[str, Any]:
    """400 unless body is a JSON object of the URL's type (with a matching id on update)."""
    if not isinstance(body, dict):
        raise FhirError(400, "the request body must be a FHIR resource (JSON object)", code="structure")
    if body.get("resourceType") != type_:
        raise FhirError(400, f"resourceType must be {type_!r}, got {body.get('resourceType')!r}",
                        code="invalid", expression=["resourceType"])
    if id_ is not None:
        if "id" not in body:
            raise FhirError(400, "update needs the resource id in the body", code="required",
                            expression=[f"{type_}.id"])
        if body["id"] != id_:
            raise FhirError(400, f"body id {body['id']!r} does not match URL id {id_!r}",
                            code="invalid", expression=[f"{type_}.id"])
    return json.loads(json.dumps(body))


def _exists(ctx: Context) -> Callable[[str, str], bool]:
    """Existence check passed to validation (so references must resolve)."""
    return ctx.store.exists


def conditional_matches(ctx: Context, type_: str, query: str, decision: fscopes.Decision) -> list[dict[str, Any]]:
    """Resolve an If-None-Exist / ifNoneExist query, within this token's compartment, to its matches."""
    query = query.split("?", 1)[1] if "?" in query else query
    pairs = parse_qsl(query, keep_blank_values=True)
    if not pairs:
        raise FhirError(400, "If-None-Exist needs search parameters", expression=["If-None-Exist"])
    request = fsearch.parse_search(type_, pairs)
    if decision.patient is not None:
        _check_named_patients(type_, request, decision.patient)
    request.count, request.offset = fsearch.MAX_COUNT, 0
    return ctx.store.search(type_, request, where=_access_filter(ctx, decision))[0]


def create(ctx: Context, type_: str, body: Any, *, if_none_exist: str | None = None,
           validate_refs: bool = True) -> Result:
    """Create a resource (server-assigned id); If-None-Exist makes it conditional."""
    check_type(type_)
    resource = check_body(type_, body)
    decision = authorize(ctx, type_, "c")
    with ctx.store.transaction():
        if if_none_exist:
            found = conditional_matches(ctx, type_, if_none_exist, decision)
            if len(found) > 1:
                raise FhirError(412, f"If-None-Exist matched {len(found)} resources", code="duplicate")
            if found:
                return Result(200, found[0], version_headers(found[0], location=True))
        resource.pop("id", None)
        strip_server_meta(resource)
        if validate_refs:
            validate(resource, _exists(ctx))
        _guard(ctx, decision, resource)
        stored = ctx.store.create(resource)
    return Result(201, stored, version_headers(stored, location=True))


def create_with_id(ctx: Context, resource: dict[str, Any]) -> Result:
    """Create under a pre-assigned id (bundle entries whose urn:uuid got an id up front)."""
    decision = authorize(ctx, resource["resourceType"], "c")
    _guard(ctx, decision, resource)
    stored = ctx.store.create(resource)
    return Result(201, stored, version_headers(stored, location=True))


def update(ctx: Context, type_: str, id_: str, body: Any, *, if_match: str | None = None,
           validate_refs: bool = True) -> Result:
    """Update (or create under a client id) a resource; If-Match guards against lost updates."""
    check_type(type_)
    if not valid_id(id_):
        raise FhirError(400, f"invalid id {id_!r}")
    resource = check_body(type_, body, id_=id_)
    strip_server_meta(resource)
    with ctx.store.transaction():
        existing = ctx.store.read(type_, id_) if ctx.store.exists(type_, id_) else None
        decision = authorize(ctx, type_, "u" if existing else "c")
        if existing is not None:
            _guard(ctx, decision, existing)
        if ctx.stale_update:
            ctx.stale_update = False
            raise FhirError(412, f"{type_}/{id_} was changed by someone else (simulated)", code="conflict")
        if validate_refs:
            validate(resource, _exists(ctx))
        _guard(ctx, decision, resource)
        stored = ctx.store.update(resource, if_match=if_match)
    return Result(201 if existing is None else 200, stored, version_headers(stored, location=True))


def delete(ctx: Context, type_: str, id_: str) -> Result:
    """Delete a resource; deleting one already deleted is a no-op 204, an unknown one 404."""
    check_type(type_)
    decision = authorize(ctx, type_, "d")
    with ctx.store.transaction():
        try:
            existing = ctx.store.read(type_, id_)
        except FhirError as err:
            if err.status == 410:
                return Result(204)
            raise
        _guard(ctx, decision, existing)
        ctx.store.delete(type_, id_)
    return Result(204)
