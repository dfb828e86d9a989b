"""Structured audit events: one JSON line per step, carrying ids only (schema: docs/audit.md).

Never pass tokens, names, or clinical content; values are restricted to short scalars (or
short lists of ids) so a careless caller cannot dump a resource into the log. Every event of a
launch carries the same identity block (handle, iss, client_id, fhir_user, patient), filled in
from the launch record when the caller only knows the handle.
"""
from __future__ import annotations

import hashlib
import json
import logging
import logging.handlers
import os
import threading
import time
from collections import Counter, OrderedDict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from flask import Flask, Response, current_app, g, has_app_context, has_request_context, request, session

from smart_app.fhir import Exchange, add_exchange_listener

logger = logging.getLogger("smart_app.audit")

SCHEMA = 1
IDENTITY = ("handle", "iss", "client_id", "fhir_user", "patient")
# Keys that must never reach the log, whatever a caller passes.
_FORBIDDEN = frozenset({"access_token", "refresh_token", "id_token", "token", "code", "code_verifier",
                        "client_secret", "password", "name", "answers", "answer", "state", "nonce",
                        "birthDate", "birth_date", "given", "family", "text", "value", "telecom", "address"})
_MAX_VALUE = 200
_MAX_LONG_VALUE = 1000  # lists of resource ids from a write
_LONG_KEYS = frozenset({"resources"})
_MAX_LIST = 50
_IDENTITY_CACHE = 4096

_identities: OrderedDict[str, dict[str, str]] = OrderedDict()
_reads_by_cid: dict[str, Counter] = {}
_guard = threading.Lock()


def event(name: str, /, **ids: Any) -> dict[str, Any]:
    """Emit one audit event as a JSON line and return what was logged (for tests)."""
    now = time.time()
    record: dict[str, Any] = {"event": name, "schema": SCHEMA, "ts": round(now, 3),
                              "time": datetime.fromtimestamp(now, timezone.utc).isoformat(timespec="milliseconds")}
    if has_request_context():
        if getattr(g, "correlation_id", None):
            record["correlation_id"] = g.correlation_id
        anchor = g.get("signin_browser") or session.get("anchor") or session.get("bid")
        if anchor:
            # A one-way tag of the browser: its anchor survives the sign-in's session rotation, and a
            # sign-in begun without a session is tagged by its sign-in cookie's id through /callback.
            # It ties /launch to its /callback without the raw id.
            record["browser"] = hashlib.sha256(str(anchor).encode()).hexdigest()[:12]
    patient_id = ids.pop("patient_id", None)
    if patient_id and not ids.get("patient"):
        ids["patient"] = f"Patient/{patient_id}"
    for key, value in ids.items():
        if key in _FORBIDDEN or value is None:
            continue
        record[key] = _clean(key, value)
    _fill_identity(record)
    logger.info(json.dumps(record, sort_keys=True))
    return record


def _clean(key: str, value: Any) -> Any:
    """Scalars pass; lists become short lists of short strings; anything else becomes a capped string."""
    if isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value) if isinstance(value, (set, frozenset)) else list(value)
        return [str(v)[:64] for v in items[:_MAX_LIST]]
    return str(value)[:_MAX_LONG_VALUE if key in _LONG_KEYS else _MAX_VALUE]


def _remember(cache: OrderedDict, key: str, value: Any, limit: int) -> None:
    """Put into a bounded LRU map."""
    with _guard:
        cache[key] = value
        cache.move_to_end(key)
        while len(cache) > limit:
            cache.popitem(last=False)


def _fill_identity(record: dict[str, Any]) -> None:
    """Complete the identity block from what this process knows about the launch, else its stored record."""
    handle = record.get("handle")
    if not handle:
        return
    with _guard:
        known = dict(_identities.get(handle) or {})
    if not known.get("_stored") and not all(k in known for k in IDENTITY[1:]):
        known = {**_stored_identity(handle), **known, "_stored": True}  # read the store once per handle
    for key in IDENTITY[1:]:
        if key in record:
            known.setdefault(key, record[key])
        elif key in known:
            record[key] = known[key]
    if known:
        _remember(_identities, handle, known, _IDENTITY_CACHE)


def _stored_identity(handle: str) -> dict[str, str]:
    """Identity fields from the launch record in the store (any instance wrote it); {} when unavailable."""
    if not has_app_context():
        return {}
    from smart_app.launch.records import read_launch  # imported late: the launch package imports audit
    from smart_app.launch.runtime import EXTENSION

    rt = current_app.extensions.get(EXTENSION)
    record = read_launch(rt.store, handle) if rt is not None else None
    return identity_of(record.get("context") or {}) if record else {}


def identity_of(context: Mapping[str, Any]) -> dict[str, str]:
    """The audit identity of a stored launch context (LaunchContext.to_record())."""
    found: dict[str, str] = {}
    for key in ("iss", "client_id"):
        if context.get(key):
            found[key] = str(context[key])
    user = context.get("fhir_user")
    if isinstance(user, (list, tuple)) and len(user) >= 2:
        found["fhir_user"] = f"{user[0]}/{user[1]}"
    if context.get("patient_id"):
        found["patient"] = f"Patient/{context['patient_id']}"
    return found


# -- per-request FHIR read summary ---------------------------------------------------------------


def _count_exchange(exchange: Exchange) -> None:
    """Tally (method, resource type, ok|failed) of one FHIR exchange for its request's summary."""
    with _guard:
        tally = _reads_by_cid.get(exchange.correlation_id)
        if tally is None:
            return  # not a request we are summarising
        outcome = "ok" if exchange.ok else "failed"
        if exchange.read_types:  # a batch of reads: one request, counted once, naming every type it read
            for n, kind in enumerate(exchange.read_types):
                tally[("GET", kind, outcome)] += 0 if n else 1
            return
        tally[(exchange.method, exchange.resource_type, outcome)] += 1


def _begin_request() -> None:
    """Start tallying this request's FHIR exchanges."""
    cid = getattr(g, "correlation_id", None)
    if cid:
        with _guard:
            _reads_by_cid[cid] = Counter()


def _forget_request(_error: BaseException | None = None) -> None:
    """Drop the request's tally even when it ended in an unhandled error."""
    cid = getattr(g, "correlation_id", None)
    if cid:
        with _guard:
            _reads_by_cid.pop(cid, None)


def _end_request(response: Response) -> Response:
    """Emit the request's `fhir.read` summary and, for failed launch pages, a `request.error` event."""
    cid = getattr(g, "correlation_id", None)
    with _guard:
        tally = _reads_by_cid.pop(cid, None) if cid else None
    handle = (request.view_args or {}).get("handle") if request.view_args else None
    if tally:
        reads = {k: n for k, n in tally.items() if k[0] == "GET" or (k[0] == "POST" and k[1] == "-")}
        writes = {k: n for k, n in tally.items() if k not in reads}
        if reads:
            event("fhir.read", handle=handle, resource_types=sorted({k[1] for k in reads}),
                  count=sum(reads.values()), failed=sum(n for k, n in reads.items() if k[2] == "failed"),
                  endpoint=request.endpoint)
        if writes:
            event("fhir.write", handle=handle, resource_types=sorted({k[1] for k in writes}),
                  count=sum(writes.values()), failed=sum(n for k, n in writes.items() if k[2] == "failed"),
                  endpoint=request.endpoint)
    if handle and response.status_code >= 400:
        event("request.error", handle=handle, status=response.status_code, endpoint=request.endpoint,
              method=request.method)
    return response


def init_app(app: Flask) -> None:
    """Summarise each request's FHIR traffic as audit events (idempotent per app)."""
    if app.extensions.get("smart_audit"):
        return
    app.extensions["smart_audit"] = True
    add_exchange_listener(_count_exchange)
    app.before_request(_begin_request)
    app.after_request(_end_request)
    app.teardown_request(_forget_request)


# -- the audit log file and the `smart-app audit` story -----------------------------------------


def configure_log_file(path: str | Path) -> logging.Handler:
    """Append audit lines (JSON, one per line) to `path`; safe for several worker processes (O_APPEND).

    The file is reopened when logrotate moves it away, so rotation needs no restart.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for existing in logger.handlers:
        if isinstance(existing, logging.FileHandler) and Path(existing.baseFilename) == path.resolve():
            return existing
    # The log names patients, users and launch handles: readable by this user only (0600).
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
    os.chmod(path, 0o600)
    handler = logging.handlers.WatchedFileHandler(path, encoding="utf-8", delay=True)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return handler


def read_events(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """Parse audit lines, skipping anything that is not one of our JSON events."""
    for line in lines:
        line = line.strip()
        start = line.find("{")
        if start < 0:
            continue
        try:
            item = json.loads(line[start:])
        except ValueError:
            continue
        if isinstance(item, dict) and "event" in item:
            yield item


def launch_trail(events: Iterable[Mapping[str, Any]], handle: str) -> list[Mapping[str, Any]]:
    """One launch's events in time order, including the /launch request that led to it.

    The launch and authorize steps happen before the handle exists; they are tied to it through
    the browser tag: the last `authorize.redirect` of the same browser and iss before the
    callback, and every event of that request.
    """
    events = list(events)
    mine = [e for e in events if e.get("handle") == handle]
    callback = min((e for e in mine if e.get("event") == "callback.ok"), key=_ts, default=None)
    if callback is not None and callback.get("browser"):
        redirects = [e for e in events if e.get("event") == "authorize.redirect" and e.get("browser") == callback["browser"]
                     and e.get("iss") == callback.get("iss") and _ts(e) <= _ts(callback)]
        last = max(redirects, key=_ts, default=None)
        if last is not None and last.get("correlation_id"):
            mine += [e for e in events if e.get("correlation_id") == last["correlation_id"] and not e.get("handle")]
    unique = {json.dumps(e, sort_keys=True): e for e in mine}
    return sorted(unique.values(), key=_ts)


def _ts(item: Mapping[str, Any]) -> float:
    """The event's epoch time."""
    value = item.get("ts")
    return float(value) if isinstance(value, (int, float)) else 0.0


_STORY = {
    "launch.received": "launch requested by the EHR or portal ({mode})",
    "launch.rejected": "launch refused: {reason}",
    "authorize.redirect": "sent the browser to the EHR's authorization server ({method})",
    "callback.ok": "signed in; context resolved: {patient}, user {fhir_user}, {granted_scopes} scopes granted",
    "callback.failed": "sign-in failed: {error_code}{reason_note}",
    "launch.failed": "launch stopped before sign-in: {error_code}{reason_note}",
    "fhir.read": "read from the EHR ({count} requests): {resource_types}{failed_note}",
    "fhir.write": "wrote to the EHR ({count} requests): {resource_types}{failed_note}",
    "draft.started": "draft started ({submission_id})",
    "draft.saved": "draft saved in the {where} ({submission_id})",
    "draft.conflict": "draft changed elsewhere ({submission_id})",
    "draft.recreated": "the EHR had lost the draft's copy; created again from the app's ({submission_id})",
    "submission.queued": "{kind} submission queued ({submission_id})",
    "submission.sent": "sent to the EHR; stored {resources}",
    "submission.pending": "send pending: {error_code}, attempt {attempts}",
    "submission.failed": "send failed: {error_code}",
    "form.expression_failed": "form {questionnaire}: an expression could not be calculated at item {link_id}",
    "task.ordered": "asked the patient to fill a form: Task/{task_id} (new: {created})",
    "task.order_failed": "the EHR refused the form request: {error_code}",
    "task.cancelled": "cancelled the form request Task/{task_id}",
    "task.cancel_conflict": "the form request Task/{task_id} changed meanwhile (version {version}); read again",
    "task.cancel_failed": "could not cancel the form request Task/{task_id}: {error_code}",
    "refresh.ok": "access token refreshed",
    "refresh.failed": "token refresh failed: {reason}",
    "request.error": "{method} {endpoint} answered {status}",
    "launch.end": "launch ended ({reason})",
    "token.revoked": "{token_type} revoked at the EHR",
    "token.revoke_failed": "could not revoke {token_type} at the EHR: {reason}",
    "discovery.refused": "EHR sign-in settings refused: {field} ({reason})",
    "callback.user_refused": "sign-in refused: {fhir_user} may not act for this patient ({reason})",
}


def describe(item: Mapping[str, Any]) -> str:
    """One event as a line of the story: time, what happened, and the request it belongs to."""
    fields: dict[str, Any] = {k: (", ".join(v) if isinstance(v, list) else v) for k, v in item.items()}
    fields["failed_note"] = f" ({item['failed']} failed)" if item.get("failed") else ""
    fields["reason_note"] = f" ({item['reason']})" if item.get("reason") else ""
    template = _STORY.get(str(item.get("event")))
    try:
        text = template.format_map(_Missing(fields)) if template else _generic(item)
    except (ValueError, KeyError):
        text = _generic(item)
    when = str(item.get("time") or item.get("ts", ""))
    return f"{when}  {item.get('event', '?'):<20} {text}  [req {item.get('correlation_id', '-')}]"


def _generic(item: Mapping[str, Any]) -> str:
    """Fallback wording: the event's own fields."""
    skip = {"event", "schema", "ts", "time", "correlation_id", *IDENTITY}
    return " ".join(f"{k}={v}" for k, v in sorted(item.items()) if k not in skip)


class _Missing(dict):
    """format_map helper: unknown fields print as '?'."""

    def __missing__(self, key: str) -> str:
        """A field the event does not carry."""
        return "?"


def story(events: Iterable[Mapping[str, Any]], handle: str) -> str:
    """A readable account of one launch: who, where, then each step."""
    trail = launch_trail(events, handle)
    if not trail:
        return f"no audit events for launch {handle}"
    identity: dict[str, Any] = {}
    for item in trail:
        for key in IDENTITY[1:]:
            if item.get(key) and key not in identity:
                identity[key] = item[key]
    head = [f"Launch {handle}",
            f"  EHR (iss):  {identity.get('iss', '?')}",
            f"  client_id:  {identity.get('client_id', '?')}",
            f"  user:       {identity.get('fhir_user', '?')}",
            f"  patient:    {identity.get('patient', '?')}",
            ""]
    return "\n".join(head + [describe(item) for item in trail])
