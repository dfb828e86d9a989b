"""Transaction and batch Bundles (https://hl7.org/fhir/R4/http.html#transaction).

A transaction runs as one SQLite transaction: every entry succeeds or none is kept.
urn:uuid fullUrls get their ids up front (or the id of the resource an `ifNoneExist`
matched), and every reference to them anywhere in the bundle is rewritten before writing.
"""
from __future__ import annotations

import uuid
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sandbox.fhir import interactions as ops
from sandbox.fhir import terminology
from sandbox.fhir.outcome import FhirError
from sandbox.fhir.validate import problem

_ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "GET": 3}


def _status_line(code: int) -> str:
    """'201 Created' style status text for entry.response.status."""
    return f"{code} {HTTPStatus(code).phrase}"


def _parse_url(ctx: ops.Context, url: str) -> tuple[list[str], list[tuple[str, str]]]:
    """Split an entry's request.url (relative or under our base) into path segments and query pairs."""
    if url.startswith(ctx.base_url):
        url = url[len(ctx.base_url):]
    elif "://" in url.split("?", 1)[0]:  # a query may carry URLs (e.g. $expand?url=...)
        raise FhirError(400, f"entry url {url!r} is not on this server", expression=["Bundle.entry.request.url"])
    parts = urlsplit(url.lstrip("/"))
    segments = [s for s in parts.path.split("/") if s]
    return segments, parse_qsl(parts.query, keep_blank_values=True)


def _rewrite(value: Any, mapping: dict[str, str]) -> Any:
    """Replace every string equal to a mapped urn:uuid with its Type/id, at any depth."""
    if isinstance(value, dict):
        return {k: _rewrite(v, mapping) for k, v in value.items()}
    if isinstance(value, list):
        return [_rewrite(v, mapping) for v in value]
    if isinstance(value, str) and value in mapping:
        return mapping[value]
    return value


def _response_entry(ctx: ops.Context, result: ops.Result, prefer: str) -> dict[str, Any]:
    """Build a response entry from a Result, honouring Prefer: return=."""
    response: dict[str, Any] = {"status": _status_line(result.status)}
    entry: dict[str, Any] = {"response": response}
    resource = result.resource
    if "Location" in result.headers:
        response["location"] = result.headers["Location"]
    if "ETag" in result.headers:
        response["etag"] = result.headers["ETag"]
    if resource and resource.get("meta", {}).get("lastUpdated"):
        response["lastModified"] = resource["meta"]["lastUpdated"]
    if resource and resource.get("id") and resource.get("resourceType") != "Bundle":
        entry["fullUrl"] = f"{ctx.base_url}/{resource['resourceType']}/{resource['id']}"
    if resource is not None and prefer != "minimal":
        entry["resource"] = resource
    return entry


def _entry_parts(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    """Check every entry has a request with a supported method and url; 400 otherwise."""
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        raise FhirError(400, "Bundle.entry must be a list", expression=["Bundle.entry"])
    for i, entry in enumerate(entries):
        request = entry.get("request") if isinstance(entry, dict) else None
        if not isinstance(request, dict) or request.get("method") not in _ORDER or not request.get("url"):
            raise FhirError(400, f"entry {i} needs request.method (GET/POST/PUT/DELETE) and request.url",
                            expression=[f"Bundle.entry[{i}].request"])
        if request["method"] in ("POST", "PUT") and not isinstance(entry.get("resource"), dict):
            raise FhirError(400, f"entry {i} needs a resource", expression=[f"Bundle.entry[{i}].resource"])
    return entries


def _run_entry(ctx: ops.Context, entry: dict[str, Any], index: int, assigned: dict[int, tuple[str, bool]],
               known: set[tuple[str, str]]) -> ops.Result:
    """Apply one entry; `assigned` holds ids picked up front (and whether an ifNoneExist matched)."""
    request = entry["request"]
    method = request["method"]
    segments, query = _parse_url(ctx, request["url"])
    if not segments:
        raise FhirError(400, "entry url names no resource type", expression=[f"Bundle.entry[{index}].request.url"])
    type_ = segments[0]
    ops.check_type(type_)

    def exists(t: str, i: str) -> bool:
        """A reference resolves if stored or created earlier in this bundle."""
        return (t, i) in known or ctx.store.exists(t, i)

    if method == "GET":
        if len(segments) == 1:
            return ops.search(ctx, type_, query)
        if segments == ["ValueSet", "$expand"]:
            return terminology.expand(ctx, query)
        if len(segments) == 2:
            return ops.read(ctx, type_, segments[1])
        if len(segments) == 4 and segments[2] == "_history":
            return ops.vread(ctx, type_, segments[1], segments[3])
        raise FhirError(400, f"unsupported GET url {request['url']!r}")
    if method == "DELETE":
        if len(segments) != 2:
            raise FhirError(400, "DELETE needs Type/id", expression=[f"Bundle.entry[{index}].request.url"])
        return ops.delete(ctx, type_, segments[1])
    resource = entry["resource"]
    invalid = problem(ops.check_body(type_, resource), exists)
    if method == "POST":
        new_id, matched = assigned[index]
        if matched:
            existing = ctx.store.read(type_, new_id)
            return ops.Result(200, existing, ops.version_headers(existing, location=True))
        if invalid is not None:
            raise invalid
        body = ops.check_body(type_, resource)
        ops.strip_server_meta(body)
        body["id"] = new_id
        return ops.create_with_id(ctx, body)
    if len(segments) != 2:
        raise FhirError(400, "PUT needs Type/id (conditional update is not supported)",
                        expression=[f"Bundle.entry[{index}].request.url"])
    if invalid is not None:
        raise invalid
    return ops.update(ctx, type_, segments[1], resource, if_match=request.get("ifMatch"), validate_refs=False)


def _prefix_error(err: FhirError, index: int) -> FhirError:
    """Point a failing entry's issue expressions at Bundle.entry[i].resource."""
    for item in err.issues:
        item["diagnostics"] = f"entry {index}: {item.get('diagnostics', '')}"
        exprs = item.get("expression")
        if exprs:
            item["expression"] = [f"Bundle.entry[{index}].resource" + e[e.find("."):] if "." in e
                                  and e[:1].isupper() and not e.startswith("Bundle.") else e for e in exprs]
    return err


def transaction(ctx: ops.Context, bundle: dict[str, Any], prefer: str) -> dict[str, Any]:
    """Apply a transaction Bundle atomically and return its transaction-response."""
    entries = _entry_parts(bundle)
    results: dict[int, ops.Result] = {}
    with ctx.store.transaction():
        mapping: dict[str, str] = {}
        assigned: dict[int, tuple[str, bool]] = {}
        known: set[tuple[str, str]] = set()
        for i, entry in enumerate(entries):
            request = entry["request"]
            full_url = entry.get("fullUrl", "")
            try:
                segments, _ = _parse_url(ctx, request["url"])
                type_ = segments[0] if segments else ""
                if request["method"] == "POST":
                    ops.check_type(type_)
                    new_id, matched = uuid.uuid4().hex, False
                    if request.get("ifNoneExist"):
                        decision = ops.authorize(ctx, type_, "c")
                        found = ops.conditional_matches(ctx, type_, request["ifNoneExist"], decision)
                        if len(found) > 1:
                            raise FhirError(412, f"ifNoneExist matched {len(found)} resources", code="duplicate")
                        if found:
                            new_id, matched = found[0]["id"], True
                    assigned[i] = (new_id, matched)
                    known.add((type_, new_id))
                    if full_url.startswith("urn:uuid:"):
                        mapping[full_url] = f"{type_}/{new_id}"
                elif request["method"] == "PUT" and len(segments) == 2:
                    known.add((type_, segments[1]))
                    if full_url.startswith("urn:uuid:"):
                        mapping[full_url] = f"{type_}/{segments[1]}"
            except FhirError as err:
                raise _prefix_error(err, i) from None
        entries = [_rewrite(e, mapping) for e in entries]
        for i in sorted(range(len(entries)), key=lambda n: _ORDER[entries[n]["request"]["method"]]):
            try:
                results[i] = _run_entry(ctx, entries[i], i, assigned, known)
            except FhirError as err:
                raise _prefix_error(err, i) from None
    return {"resourceType": "Bundle", "type": "transaction-response",
            "entry": [_response_entry(ctx, results[i], prefer) for i in range(len(entries))]}


def batch(ctx: ops.Context, bundle: dict[str, Any], prefer: str) -> dict[str, Any]:
    """Apply each batch entry on its own and report a status per entry."""
    entries = _entry_parts(bundle)
    out = []
    for i, entry in enumerate(entries):
        try:
            with ctx.store.transaction():
                if entry["request"]["method"] == "POST":
                    segments, _ = _parse_url(ctx, entry["request"]["url"])
                    type_ = segments[0] if segments else ""
                    ops.check_type(type_)
                    if entry["request"].get("ifNoneExist"):
                        result = ops.create(ctx, type_, entry["resource"],
                                            if_none_exist=entry["request"]["ifNoneExist"])
                    else:
                        result = ops.create(ctx, type_, entry["resource"])
                else:
                    result = _run_entry(ctx, entry, i, {}, set())
            out.append(_response_entry(ctx, result, prefer))
        except FhirError as err:
            out.append({"response": {"status": _status_line(err.status), "outcome": err.outcome()}})
    return {"resourceType": "Bundle", "type": "batch-response", "entry": out}


def is_write(bundle: Any) -> bool:
    """True when a bundle contains any non-GET entry (faults for writes then apply)."""
    if not isinstance(bundle, dict):
        return True
    entries = bundle.get("entry") or []
    return any(not isinstance(e, dict) or (e.get("request") or {}).get("method") != "GET" for e in entries)
