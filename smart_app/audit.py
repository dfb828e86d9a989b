"""Structured audit events: one JSON line per step, carrying ids only.

Never pass tokens, names, or clinical content; values are restricted to short
scalars so a careless caller cannot dump a resource into the log.
"""
from __future__ import annotations

import json
import logging
import time
from typing import Any

from flask import g, has_request_context

logger = logging.getLogger("smart_app.audit")

# Keys that must never reach the log, whatever a caller passes.
_FORBIDDEN = frozenset({"access_token", "refresh_token", "id_token", "token", "code", "code_verifier",
                        "client_secret", "password", "name", "answers", "state", "nonce"})
_MAX_VALUE = 200


def event(name: str, /, **ids: Any) -> dict[str, Any]:
    """Emit one audit event as a JSON line and return what was logged (for tests)."""
    record: dict[str, Any] = {"event": name, "ts": round(time.time(), 3)}
    if has_request_context() and getattr(g, "correlation_id", None):
        record["correlation_id"] = g.correlation_id
    for key, value in ids.items():
        if key in _FORBIDDEN or value is None:
            continue
        if isinstance(value, (bool, int, float)):
            record[key] = value
        else:
            record[key] = str(value)[:_MAX_VALUE]
    logger.info(json.dumps(record, sort_keys=True))
    return record
