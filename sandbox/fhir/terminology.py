"""ValueSet/$expand for the value sets this server holds, like a terminology-capable EHR.

https://hl7.org/fhir/R4/valueset-operation-expand.html: `url` (required here), optional
`valueSetVersion`, `filter` (case-insensitive text match on display or code), `count`/`offset`.
A stored ValueSet with an `expansion` is returned as it is (paged); one with an enumerated
`compose` (concepts listed per include) is expanded from it. Intensional definitions (filters,
imported value sets) are not supported: 422 `not-supported`, as a small server would answer.
Reading value sets needs the token's ValueSet read scope, as for a plain read.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sandbox.fhir import interactions as ops
from sandbox.fhir.outcome import FhirError

MAX_COUNT = 1000


def _contains(vs: dict[str, Any]) -> list[dict[str, Any]]:
    """The codes of a ValueSet: its stored expansion (flattened), or its enumerated compose."""
    expansion = vs.get("expansion")
    if isinstance(expansion, dict) and isinstance(expansion.get("contains"), list):
        out, stack = [], list(reversed(expansion["contains"]))
        while stack:
            entry = stack.pop()
            if isinstance(entry, dict):
                if entry.get("code"):
                    out.append({k: entry[k] for k in ("system", "version", "code", "display", "abstract", "extension")
                                if k in entry})
                stack.extend(reversed(entry.get("contains") or []))
        return out
    out = []
    for include in (vs.get("compose") or {}).get("include") or []:
        if include.get("filter") or include.get("valueSet") or not include.get("concept"):
            raise FhirError(422, "this server can only expand value sets that list their codes",
                            code="not-supported")
        for concept in include["concept"]:
            entry = {"system": include.get("system"), "code": concept.get("code")}
            if include.get("version"):
                entry["version"] = include["version"]
            if concept.get("display"):
                entry["display"] = concept["display"]
            if concept.get("extension"):
                entry["extension"] = concept["extension"]
            out.append(entry)
    return out


def _int(pairs: dict[str, str], name: str, default: int) -> int:
    """A non-negative integer parameter, or 400."""
    raw = pairs.get(name)
    if raw is None:
        return default
    if not raw.isdigit():
        raise FhirError(400, f"{name} must be a non-negative integer", code="invalid", expression=[name])
    return int(raw)


def expand(ctx: ops.Context, pairs: list[tuple[str, str]]) -> ops.Result:
    """Expand the stored ValueSet named by `url` (and `valueSetVersion`)."""
    params = dict(pairs)
    unknown = set(params) - {"url", "valueSetVersion", "filter", "count", "offset", "_format", "includeDesignations"}
    if unknown:
        raise FhirError(400, f"unsupported $expand parameter {sorted(unknown)[0]!r}", code="not-supported")
    url = params.get("url")
    if not url:
        raise FhirError(400, "$expand needs the url parameter (instance-level expansion is not supported)",
                        code="required", expression=["url"])
    url, _, pinned = url.partition("|")
    version = params.get("valueSetVersion") or pinned or None
    query = [("url", url)] + ([("version", version)] if version else [])
    found = ops.search(ctx, "ValueSet", query).resource or {}
    matches = [e["resource"] for e in found.get("entry") or [] if (e.get("search") or {}).get("mode") == "match"]
    if not matches:
        raise FhirError(404, f"no ValueSet {url!r}{' version ' + repr(version) if version else ''} on this server",
                        code="not-found")
    vs = sorted(matches, key=lambda r: str(r.get("version") or ""))[-1]
    contains = _contains(vs)
    text = (params.get("filter") or "").casefold()
    if text:
        contains = [c for c in contains if text in str(c.get("display") or "").casefold() or text in str(c.get("code")).casefold()]
    offset = _int(params, "offset", 0)
    count = min(_int(params, "count", MAX_COUNT), MAX_COUNT)
    expanded = {k: vs[k] for k in ("resourceType", "id", "url", "version", "name", "title", "status") if k in vs}
    expanded["expansion"] = {
        "timestamp": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "total": len(contains), "offset": offset,
        "parameter": [{"name": "url", "valueUri": url}] + ([{"name": "version", "valueString": vs["version"]}]
                                                           if vs.get("version") else []),
        "contains": contains[offset:offset + count],
    }
    return ops.Result(200, expanded)
