"""Structured audit events: one JSON line per step, carrying ids only (schema: docs/audit.md).

Never pass tokens, names, or clinical content; values are restricted to short scalars (or
short lists of ids) so a careless caller cannot dump a resource into the log.

Identity is passed in, never looked up: a caller passes the launch's ids (handle, iss, client_id,
fhir_user, patient), or the request that opened a launch binds them once (`bind_identity`, called by
`launch.session.current_launch`) and every event of that request with the same handle carries them.
This module reads no store and imports nothing of the app: it sits below every other package.

Correlation: each request gets our own id (`correlation_id`, generated here, server-side); a
well-formed incoming `X-Request-ID` is recorded beside it as `request_id` and is never used as a key.
"""
from __future__ import annotations

import hashlib
import json
import logging
import logging.handlers
import os
import re
import secrets
import threading
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from flask import Flask, Response, g, has_request_context, request, session

if TYPE_CHECKING:
    from smart_app.ehr.client import Exchange

logger = logging.getLogger(__name__)

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
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

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
        if g.get("incoming_request_id"):
            record["request_id"] = g.incoming_request_id
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


def _fill_identity(record: dict[str, Any]) -> None:
    """Complete the identity block from what the caller bound to this request for the same handle."""
    handle = record.get("handle")
    if not handle or not has_request_context():
        return
    bound = g.get("audit_identity")
    if not bound or bound.get("handle") != handle:
        return
    for key in IDENTITY[1:]:
        if key not in record and bound.get(key):
            record[key] = bound[key]


def bind_identity(ids: Mapping[str, Any]) -> None:
    """Let this request's events for `ids["handle"]` carry the launch's identity (the caller knows it)."""
    identity = {k: str(v) for k, v in ids.items() if k in IDENTITY and v}
    if ids.get("patient_id") and "patient" not in identity:
        identity["patient"] = f"Patient/{ids['patient_id']}"
    g.audit_identity = identity


def assign_correlation_id() -> None:
    """Our own id for this request; a well-formed incoming X-Request-ID is kept beside it, never as the key."""
    g.correlation_id = secrets.token_hex(8)
    incoming = request.headers.get("X-Request-ID", "")
    g.incoming_request_id = incoming if _REQUEST_ID.match(incoming) else None


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


def count_exchange(exchange: Exchange) -> None:
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
    """Give each request our own correlation id and summarise its FHIR traffic (idempotent per app).

    The FHIR exchanges reach `count_exchange` through the listener create_app registers with the EHR
    client (smart_app.ehr.client.add_exchange_listener): audit imports nothing above it.
    """
    if app.extensions.get("smart_audit"):
        return
    app.extensions["smart_audit"] = True
    app.before_request(assign_correlation_id)
    app.before_request(_begin_request)
    app.after_request(_end_request)
    app.teardown_request(_forget_request)


# -- the audit log file (its reader and the `smart-app audit` story: audit/story.py) ---------------


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
