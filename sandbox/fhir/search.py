"""Pure FHIR search: parameter definitions, parsing of query pairs, matching, sorting, includes.

Implements the subset of https://hl7.org/fhir/R4/search.html the app needs: token, reference,
date (with prefixes), string, uri/canonical parameters; comma = OR, repeated name = AND;
`_sort`, `_count`, paging offsets, `_include` and `_revinclude`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Iterator

from sandbox.fhir.outcome import FhirError

DEFAULT_COUNT = 20
MAX_COUNT = 200


@dataclass(frozen=True)
class Param:
    """One search parameter: its kind and the element paths it reads."""

    kind: str  # token | reference | date | string | uri | canonical
    paths: tuple[str, ...]


def _p(kind: str, *paths: str) -> Param:
    """Shorthand constructor for the definitions table."""
    return Param(kind, paths)


_COMMON = {
    "_id": _p("token", "id"),
    "_lastUpdated": _p("date", "meta.lastUpdated"),
    "_tag": _p("token", "meta.tag"),
    "_security": _p("token", "meta.security"),
    "_profile": _p("uri", "meta.profile"),
}
_IDENT = {"identifier": _p("token", "identifier")}
_NAMES = {
    "name": _p("string", "name.text", "name.family", "name.given"),
    "family": _p("string", "name.family"),
    "given": _p("string", "name.given"),
}

# Search parameters per resource type (names and paths from the R4 search parameter registry).
SEARCH_PARAMS: dict[str, dict[str, Param]] = {
    "Patient": {**_IDENT, **_NAMES, "birthdate": _p("date", "birthDate"),
                "gender": _p("token", "gender"), "active": _p("token", "active"),
                "general-practitioner": _p("reference", "generalPractitioner")},
    "Practitioner": {**_IDENT, **_NAMES, "active": _p("token", "active")},
    "PractitionerRole": {**_IDENT, "practitioner": _p("reference", "practitioner"),
                         "organization": _p("reference", "organization")},
    "RelatedPerson": {**_IDENT, **_NAMES, "patient": _p("reference", "patient"),
                      "relationship": _p("token", "relationship")},
    "Organization": {**_IDENT, "name": _p("string", "name", "alias")},
    "Location": {**_IDENT, "name": _p("string", "name")},
    "Encounter": {**_IDENT, "patient": _p("reference", "subject"), "subject": _p("reference", "subject"),
                  "status": _p("token", "status"), "date": _p("date", "period"),
                  "class": _p("token", "class"), "type": _p("token", "type"),
                  "participant": _p("reference", "participant.individual"),
                  "practitioner": _p("reference", "participant.individual"),
                  "appointment": _p("reference", "appointment")},
    "Appointment": {**_IDENT, "patient": _p("reference", "participant.actor"),
                    "actor": _p("reference", "participant.actor"),
                    "practitioner": _p("reference", "participant.actor"),
                    "status": _p("token", "status"), "date": _p("date", "start")},
    "Observation": {**_IDENT, "patient": _p("reference", "subject"), "subject": _p("reference", "subject"),
                    "status": _p("token", "status"), "code": _p("token", "code"),
                    "category": _p("token", "category"),
                    "date": _p("date", "effectiveDateTime", "effectivePeriod", "effectiveInstant"),
                    "encounter": _p("reference", "encounter"),
                    "component-code": _p("token", "component.code"),
                    "combo-code": _p("token", "code", "component.code"),
                    "based-on": _p("reference", "basedOn"),
                    "derived-from": _p("reference", "derivedFrom"),
                    "performer": _p("reference", "performer")},
    "Condition": {**_IDENT, "patient": _p("reference", "subject"), "subject": _p("reference", "subject"),
                  "clinical-status": _p("token", "clinicalStatus"),
                  "verification-status": _p("token", "verificationStatus"),
                  "category": _p("token", "category"), "code": _p("token", "code"),
                  "encounter": _p("reference", "encounter"),
                  "onset-date": _p("date", "onsetDateTime", "onsetPeriod"),
                  "recorded-date": _p("date", "recordedDate")},
    "AllergyIntolerance": {**_IDENT, "patient": _p("reference", "patient"),
                           "clinical-status": _p("token", "clinicalStatus"),
                           "verification-status": _p("token", "verificationStatus"),
                           "code": _p("token", "code"), "criticality": _p("token", "criticality"),
                           "date": _p("date", "recordedDate")},
    "MedicationRequest": {**_IDENT, "patient": _p("reference", "subject"),
                          "subject": _p("reference", "subject"),
                          "status": _p("token", "status"), "intent": _p("token", "intent"),
                          "category": _p("token", "category"),
                          "code": _p("token", "medicationCodeableConcept"),
                          "medication": _p("reference", "medicationReference"),
                          "authoredon": _p("date", "authoredOn"),
                          "encounter": _p("reference", "encounter"),
                          "requester": _p("reference", "requester")},
    "MedicationStatement": {**_IDENT, "patient": _p("reference", "subject"),
                            "subject": _p("reference", "subject"),
                            "status": _p("token", "status"),
                            "code": _p("token", "medicationCodeableConcept"),
                            "medication": _p("reference", "medicationReference"),
                            "effective": _p("date", "effectiveDateTime", "effectivePeriod"),
                            "context": _p("reference", "context")},
    "Medication": {**_IDENT, "code": _p("token", "code"), "status": _p("token", "status")},
    "Questionnaire": {**_IDENT, "url": _p("uri", "url"), "version": _p("token", "version"),
                      "status": _p("token", "status"), "name": _p("string", "name"),
                      "title": _p("string", "title"), "date": _p("date", "date"),
                      "code": _p("token", "code", "item.code")},
    "QuestionnaireResponse": {**_IDENT, "patient": _p("reference", "subject"),
                              "subject": _p("reference", "subject"),
                              "status": _p("token", "status"), "authored": _p("date", "authored"),
                              "questionnaire": _p("canonical", "questionnaire"),
                              "encounter": _p("reference", "encounter"),
                              "author": _p("reference", "author"),
                              "source": _p("reference", "source"),
                              "based-on": _p("reference", "basedOn")},
    "Provenance": {"target": _p("reference", "target"), "patient": _p("reference", "target"),
                   "agent": _p("reference", "agent.who"), "recorded": _p("date", "recorded")},
    "ValueSet": {**_IDENT, "url": _p("uri", "url"), "version": _p("token", "version"),
                 "name": _p("string", "name"), "status": _p("token", "status")},
    "Device": {**_IDENT, "patient": _p("reference", "patient"), "type": _p("token", "type")},
    "Flag": {**_IDENT, "patient": _p("reference", "subject"), "subject": _p("reference", "subject"),
             "status": _p("token", "status"), "category": _p("token", "category"), "code": _p("token", "code"),
             "date": _p("date", "period"), "encounter": _p("reference", "encounter"),
             "author": _p("reference", "author")},
    "FamilyMemberHistory": {**_IDENT, "patient": _p("reference", "patient"), "status": _p("token", "status"),
                            "relationship": _p("token", "relationship"), "code": _p("token", "condition.code"),
                            "date": _p("date", "date")},
    "Task": {**_IDENT, "patient": _p("reference", "for"), "subject": _p("reference", "for"),
             "focus": _p("reference", "focus"), "status": _p("token", "status"), "intent": _p("token", "intent"),
             "code": _p("token", "code"), "authored-on": _p("date", "authoredOn"),
             "encounter": _p("reference", "encounter"), "owner": _p("reference", "owner"),
             "requester": _p("reference", "requester"), "based-on": _p("reference", "basedOn"),
             "part-of": _p("reference", "partOf"), "period": _p("date", "executionPeriod"),
             "modified": _p("date", "lastModified"), "business-status": _p("token", "businessStatus")},
}

# Result-shaping parameters we accept without filtering on them.
_IGNORED = {"_format", "_pretty", "_elements", "_total"}
_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")


@dataclass(frozen=True)
class Criterion:
    """One `name[:modifier]=v1,v2` clause: matches when any value matches (OR)."""

    name: str
    param: Param
    modifier: str | None
    values: tuple[str, ...]


@dataclass(frozen=True)
class Include:
    """An `_include`/`_revinclude` directive: source type, reference parameter, optional target type."""

    source: str
    param: str
    target: str | None = None


@dataclass
class SearchRequest:
    """A parsed search: criteria (AND of ORs), sort keys, paging and include directives."""

    type: str
    criteria: list[Criterion] = field(default_factory=list)
    sort: list[tuple[str, bool]] = field(default_factory=list)  # (param name, descending)
    count: int = DEFAULT_COUNT
    offset: int = 0
    summary_count: bool = False
    includes: list[Include] = field(default_factory=list)
    revincludes: list[Include] = field(default_factory=list)


def params_for(type_: str) -> dict[str, Param]:
    """Return every search parameter supported for a resource type."""
    return {**_COMMON, **SEARCH_PARAMS.get(type_, {})}


_ESCAPED = re.compile(r"\\([\\,$|])")


def unescape(value: str) -> str:
    """Undo search escaping (https://hl7.org/fhir/R4/search.html#escaping): \\, \\$ \\| \\\\."""
    return _ESCAPED.sub(r"\1", value)


def _split_unescaped(value: str, sep: str, maxsplit: int = -1) -> list[str]:
    """Split on `sep` where it is not backslash-escaped; the parts keep their escapes."""
    parts: list[str] = []
    current, i = "", 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            current += value[i:i + 2]
            i += 2
            continue
        if ch == sep and (maxsplit < 0 or len(parts) < maxsplit):
            parts.append(current)
            current = ""
        else:
            current += ch
        i += 1
    parts.append(current)
    return parts


def split_or(value: str) -> tuple[str, ...]:
    """Split a parameter value on unescaped commas (comma means OR); escapes stay for later parsing."""
    return tuple(p for p in _split_unescaped(value, ",") if p != "")


def split_pipe(value: str) -> tuple[str, str | None]:
    """Split `a|b` on the first unescaped pipe and unescape both halves; b is None without a pipe."""
    parts = _split_unescaped(value, "|", 1)
    if len(parts) == 1:
        return unescape(parts[0]), None
    return unescape(parts[0]), unescape(parts[1])


def _int(name: str, value: str, *, minimum: int = 0) -> int:
    """Parse a non-negative integer parameter or fail with 400."""
    try:
        number = int(value)
    except ValueError:
        raise FhirError(400, f"{name} must be an integer", expression=[name]) from None
    if number < minimum:
        raise FhirError(400, f"{name} must be >= {minimum}", expression=[name])
    return number


def _parse_include(type_: str, value: str, name: str, *, reverse: bool) -> Include:
    """Parse `Type:param[:Target]` and check the parameter is a known reference parameter."""
    parts = value.split(":")
    if len(parts) not in (2, 3) or parts[1] == "*":
        raise FhirError(400, f"unsupported {name} value {value!r}", code="not-supported",
                        expression=[name])
    source, param_name = parts[0], parts[1]
    target = parts[2] if len(parts) == 3 else None
    if not reverse and source != type_:
        raise FhirError(400, f"{name} source must be {type_}", expression=[name])
    param = params_for(source).get(param_name)
    if param is None or param.kind != "reference":
        raise FhirError(400, f"{name}: {source} has no reference parameter {param_name!r}",
                        code="not-supported", expression=[name])
    return Include(source, param_name, target)


def parse_search(type_: str, pairs: Iterable[tuple[str, str]], *, lenient: bool = False) -> SearchRequest:
    """Turn query pairs into a SearchRequest; unknown parameters are 400 unless lenient."""
    request = SearchRequest(type=type_)
    known = params_for(type_)
    for raw_name, value in pairs:
        name, _, modifier = raw_name.partition(":")
        if name == "_count":
            request.count = min(_int("_count", value), MAX_COUNT)
        elif name == "_offset":
            request.offset = _int("_offset", value)
        elif name == "_summary":
            request.summary_count = value == "count"
        elif name == "_sort":
            for key in split_or(value):
                desc = key.startswith("-")
                key_name = key.lstrip("-")
                if key_name not in known:
                    raise FhirError(400, f"cannot sort {type_} by {key_name!r}", expression=["_sort"])
                request.sort.append((key_name, desc))
        elif name == "_include":
            request.includes.append(_parse_include(type_, value, name, reverse=False))
        elif name == "_revinclude":
            request.revincludes.append(_parse_include(type_, value, name, reverse=True))
        elif name in _IGNORED:
            continue
        elif name in known:
            param = known[name]
            _check_modifier(name, param, modifier or None)
            values = split_or(value)
            if not values:
                raise FhirError(400, f"empty value for search parameter {name!r}", expression=[name])
            if param.kind == "date" and (modifier or None) != "missing":
                for v in values:
                    parse_prefixed_date(name, v)
            request.criteria.append(Criterion(name, param, modifier or None, values))
        elif not lenient:
            raise FhirError(400, f"unknown search parameter {raw_name!r} for {type_}",
                            code="not-supported", expression=[raw_name])
    return request


_MODIFIERS = {
    "token": {"missing", "not", "text"},
    "reference": {"missing"},
    "date": {"missing"},
    "string": {"missing", "exact", "contains"},
    "uri": {"missing", "below"},
    "canonical": {"missing"},
}


def _check_modifier(name: str, param: Param, modifier: str | None) -> None:
    """Reject modifiers we do not implement (a reference type modifier like `:Patient` is fine)."""
    if modifier is None:
        return
    if param.kind == "reference" and modifier[:1].isupper():
        return
    if modifier not in _MODIFIERS[param.kind]:
        raise FhirError(400, f"unsupported modifier :{modifier} on {name}", code="not-supported",
                        expression=[f"{name}:{modifier}"])


# ---------------------------------------------------------------- element access

def element_values(resource: Any, path: str) -> list[Any]:
    """Return the values at a dotted path, flattening lists along the way."""
    current: list[Any] = [resource]
    for part in path.split("."):
        nxt: list[Any] = []
        for item in current:
            if isinstance(item, dict) and part in item:
                value = item[part]
                nxt.extend(value if isinstance(value, list) else [value])
        current = nxt
    return current


def param_values(resource: dict[str, Any], param: Param) -> list[Any]:
    """Return all values a parameter reads from a resource."""
    out: list[Any] = []
    for path in param.paths:
        out.extend(element_values(resource, path))
    return out


def parse_reference(ref: str) -> tuple[str | None, str] | None:
    """Split a literal reference (relative or absolute) into (type, id); None for contained/urn."""
    if not ref or ref.startswith("#") or ref.startswith("urn:"):
        return None
    parts = [p for p in ref.split("/") if p]
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    if len(parts) >= 2 and parts[-2][:1].isupper():
        return parts[-2], parts[-1]
    if len(parts) == 1:
        return None, parts[0]
    return None


def reference_targets(resource: dict[str, Any], param: Param) -> list[tuple[str, str]]:
    """Return (type, id) for every literal reference a reference parameter reads."""
    out = []
    for value in param_values(resource, param):
        if isinstance(value, dict) and isinstance(value.get("reference"), str):
            parsed = parse_reference(value["reference"])
            if parsed and parsed[0]:
                out.append((parsed[0], parsed[1]))
    return out


# ---------------------------------------------------------------- dates

_DATE_RE = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$"
)
MIN_TIME = datetime(1, 1, 1, tzinfo=timezone.utc)
MAX_TIME = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc)


def date_range(value: str) -> tuple[datetime, datetime] | None:
    """Return the half-open [start, end) instant range a FHIR date/dateTime/instant denotes."""
    m = _DATE_RE.match(value.strip())
    if not m:
        return None
    year, month, day, hour, minute, second, frac, tz = m.groups()
    tzinfo = timezone.utc
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        tzinfo = timezone(sign * timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6])))
    try:
        if month is None:
            start = datetime(int(year), 1, 1, tzinfo=tzinfo)
            end = datetime(int(year) + 1, 1, 1, tzinfo=tzinfo)
        elif day is None:
            start = datetime(int(year), int(month), 1, tzinfo=tzinfo)
            end = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
        elif hour is None:
            start = datetime(int(year), int(month), int(day), tzinfo=tzinfo)
            end = start + timedelta(days=1)
        elif second is None:
            start = datetime(int(year), int(month), int(day), int(hour), int(minute), tzinfo=tzinfo)
            end = start + timedelta(minutes=1)
        else:
            micro = int(round(float(frac) * 1_000_000)) if frac else 0
            start = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second),
                             min(micro, 999_999), tzinfo=tzinfo)
            end = start + (timedelta(microseconds=1) if frac else timedelta(seconds=1))
    except ValueError:
        return None
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def parse_prefixed_date(name: str, value: str) -> tuple[str, tuple[datetime, datetime]]:
    """Split a date search value into (prefix, range); 400 when unparseable."""
    prefix = "eq"
    if value[:2] in _PREFIXES and not value[:2].isdigit():
        prefix, value = value[:2], value[2:]
    rng = date_range(value)
    if rng is None:
        raise FhirError(400, f"invalid date {value!r} for {name}", expression=[name])
    return prefix, rng


def _value_range(value: Any) -> tuple[datetime, datetime] | None:
    """Return the range of a resource's date, dateTime, instant or Period value."""
    if isinstance(value, str):
        return date_range(value)
    if isinstance(value, dict) and ("start" in value or "end" in value):
        starts = date_range(value.get("start", "") or "")
        ends = date_range(value.get("end", "") or "")
        return (starts[0] if starts else MIN_TIME), (ends[1] if ends else MAX_TIME)
    return None


def _date_matches(prefix: str, wanted: tuple[datetime, datetime], have: tuple[datetime, datetime]) -> bool:
    """Compare ranges as https://hl7.org/fhir/R4/search.html#prefix describes."""
    w0, w1 = wanted
    h0, h1 = have
    if prefix in ("eq", "ap"):
        return w0 <= h0 and h1 <= w1
    if prefix == "ne":
        return not (w0 <= h0 and h1 <= w1)
    if prefix == "gt":
        return h1 > w1
    if prefix == "lt":
        return h0 < w0
    if prefix == "ge":
        return h1 > w0
    if prefix == "le":
        return h0 < w1
    if prefix == "sa":
        return h0 >= w1
    if prefix == "eb":
        return h1 <= w0
    return False


# ---------------------------------------------------------------- matching

def _token_candidates(value: Any) -> Iterator[tuple[str | None, str]]:
    """Yield (system, code) pairs from a code, Coding, CodeableConcept, Identifier or boolean."""
    if isinstance(value, bool):
        yield None, "true" if value else "false"
    elif isinstance(value, str):
        yield None, value
    elif isinstance(value, dict):
        if "coding" in value:
            for coding in value["coding"]:
                yield coding.get("system"), str(coding.get("code", ""))
        elif "code" in value:
            yield value.get("system"), str(value["code"])
        elif "value" in value:
            yield value.get("system"), str(value["value"])


def _token_text(value: Any) -> str:
    """Return the human text of a CodeableConcept/Coding for the :text modifier."""
    if isinstance(value, dict):
        texts = [value.get("text", "")] + [c.get("display", "") for c in value.get("coding", [])]
        texts.append(value.get("display", ""))
        return " ".join(t for t in texts if t)
    return str(value)


def _token_matches(wanted: str, candidate: tuple[str | None, str]) -> bool:
    """Match `code`, `system|code`, `|code` or `system|` against one (system, code)."""
    system, code = candidate
    first, second = split_pipe(wanted)
    if second is None:
        return code == first
    want_system, want_code = first, second
    if want_code == "":
        return system == want_system
    if want_system == "":
        return system is None and code == want_code
    return system == want_system and code == want_code


def _fold(text: str) -> str:
    """Case-fold for string search (FHIR string search is case-insensitive)."""
    return text.casefold()


def _string_matches(wanted: str, value: Any, modifier: str | None) -> bool:
    """Default starts-with, `:exact` or `:contains` string matching."""
    if not isinstance(value, str):
        return False
    if modifier == "exact":
        return value == wanted
    if modifier == "contains":
        return _fold(wanted) in _fold(value)
    return _fold(value).startswith(_fold(wanted))


def _reference_matches(wanted: str, value: Any, modifier: str | None) -> bool:
    """Match `Type/id`, a bare id (with optional `:Type` modifier) or an absolute URL."""
    if not isinstance(value, dict) or not isinstance(value.get("reference"), str):
        return False
    have = parse_reference(value["reference"])
    want = parse_reference(wanted)
    if have is None or want is None:
        return value["reference"] == wanted
    want_type = want[0] or (modifier if modifier and modifier[:1].isupper() else None)
    return have[1] == want[1] and (want_type is None or have[0] == want_type)


def _canonical_matches(wanted: str, value: Any) -> bool:
    """Match a canonical (`url` or `url|version`) against a canonical value."""
    if not isinstance(value, str):
        return False
    url, version = split_pipe(wanted)
    if version is not None:
        return value == f"{url}|{version}"
    return value.split("|", 1)[0] == url


def _uri_matches(wanted: str, value: Any, modifier: str | None, resource: dict[str, Any]) -> bool:
    """Exact URI match; `url|version` also checks the resource version; `:below` is a prefix."""
    if not isinstance(value, str):
        return False
    url, version = split_pipe(wanted)
    if modifier == "below":
        return value.startswith(url)
    if version is not None:
        return value == url and resource.get("version") == version
    return value == url


def criterion_matches(resource: dict[str, Any], criterion: Criterion) -> bool:
    """True when the resource satisfies any of the criterion's comma-separated values."""
    values = param_values(resource, criterion.param)
    modifier = criterion.modifier
    if modifier == "missing":
        want_missing = criterion.values[0] == "true"
        return (len(values) == 0) == want_missing
    kind = criterion.param.kind
    if kind == "token" and modifier == "not":
        return not any(_token_matches(w, c) for w in criterion.values
                       for v in values for c in _token_candidates(v))
    for wanted in criterion.values:
        for value in values:
            if kind == "token":
                if modifier == "text":
                    if _fold(unescape(wanted)) in _fold(_token_text(value)):
                        return True
                elif any(_token_matches(wanted, c) for c in _token_candidates(value)):
                    return True
            elif kind == "reference" and _reference_matches(unescape(wanted), value, modifier):
                return True
            elif kind == "string" and _string_matches(unescape(wanted), value, modifier):
                return True
            elif kind == "uri" and _uri_matches(wanted, value, modifier, resource):
                return True
            elif kind == "canonical" and _canonical_matches(wanted, value):
                return True
            elif kind == "date":
                have = _value_range(value)
                if have is not None:
                    prefix, rng = parse_prefixed_date(criterion.name, wanted)
                    if _date_matches(prefix, rng, have):
                        return True
    return False


def matches(resource: dict[str, Any], request: SearchRequest) -> bool:
    """True when the resource satisfies every criterion of the search (AND)."""
    return all(criterion_matches(resource, c) for c in request.criteria)


# ---------------------------------------------------------------- sorting

def _sort_key(resource: dict[str, Any], param: Param) -> Any:
    """Return a comparable key for one sort parameter, or None when the value is absent."""
    for value in param_values(resource, param):
        if param.kind == "date":
            rng = _value_range(value)
            if rng:
                return rng[0]
        elif param.kind == "reference" and isinstance(value, dict):
            return str(value.get("reference", ""))
        elif param.kind == "token":
            for _system, code in _token_candidates(value):
                return code
        elif isinstance(value, str):
            return _fold(value)
    return None


def sort_resources(resources: list[dict[str, Any]], request: SearchRequest) -> list[dict[str, Any]]:
    """Sort by `_sort` keys (stable, missing values last); default order is by id."""
    result = sorted(resources, key=lambda r: r.get("id", ""))
    known = params_for(request.type)
    for name, desc in reversed(request.sort):
        param = known[name]
        present = [(r, _sort_key(r, param)) for r in result]
        with_key = [p for p in present if p[1] is not None]
        without = [p[0] for p in present if p[1] is None]
        with_key.sort(key=lambda p: p[1], reverse=desc)
        result = [p[0] for p in with_key] + without
    return result
