"""The `smart-app audit` story renders from log lines alone: no app, no request, no store."""
from __future__ import annotations

import json

from smart_app.audit import story


def _line(**event) -> str:
    """One audit line as the log file holds it."""
    return "INFO " + json.dumps(event, sort_keys=True)


def test_the_story_is_told_from_lines_without_an_app():
    lines = [
        _line(event="launch.received", ts=1.0, correlation_id="c0", browser="b1", iss="https://ehr/fhir", mode="ehr"),
        _line(event="authorize.redirect", ts=2.0, correlation_id="c0", browser="b1", iss="https://ehr/fhir", method="GET"),
        _line(event="callback.ok", ts=3.0, correlation_id="c1", browser="b1", handle="h1", iss="https://ehr/fhir",
              client_id="app", fhir_user="Practitioner/9", patient="Patient/p1", granted_scopes=4),
        "not an audit line",
        _line(event="launch.end", ts=4.0, correlation_id="c2", handle="h1", reason="user"),
        _line(event="launch.end", ts=5.0, correlation_id="c3", handle="someone-else", reason="user"),
    ]
    events = list(story.read_events(lines))
    told = story.story(events, "h1")
    assert told.splitlines()[:5] == ["Launch h1", "  EHR (iss):  https://ehr/fhir", "  client_id:  app",
                                     "  user:       Practitioner/9", "  patient:    Patient/p1"]
    assert [e["event"] for e in story.launch_trail(events, "h1")] == [
        "launch.received", "authorize.redirect", "callback.ok", "launch.end"]
    assert "someone-else" not in told


def test_the_story_module_imports_only_the_event_schema():
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(story))
    ours = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("smart_app")}
    assert ours == {"smart_app.audit.events"}
