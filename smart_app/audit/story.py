"""The `smart-app audit` story: one launch's audit lines, read back and told in time order (schema: docs/audit.md).

Pure over the lines it is given: reading the file is the CLI's job (smart_app/cli.py).
"""
from __future__ import annotations

import json
from typing import Any, Iterable, Iterator, Mapping

from smart_app.audit.events import IDENTITY


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
