"""The regression corpus of real public R4 Questionnaires (see MANIFEST.md) and a generic filler.

`generic_answers(form)` answers every question a person can fill with a plausible value of its
type (the first listed option, a small number within any min/max, a fixed date...), so each form
can be filled, validated and sent without hand-written knowledge of it. Scored forms also get
hand-written answer sets in their own tests.
"""
from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from smart_app.forms import Form
from smart_app.forms.state import field_name

HERE = Path(__file__).resolve().parent
FILES = sorted(p.name for p in HERE.glob("*.json"))


def load(name: str) -> dict:
    """One corpus Questionnaire, with an id (its file stem) when it has none, as an EHR would give it."""
    resource = json.loads((HERE / name).read_text(encoding="utf-8"))
    resource.setdefault("id", re.sub(r"[^A-Za-z0-9\-.]", "-", name.removesuffix(".json"))[:64])
    resource.setdefault("status", "active")
    return resource


def _number(item: Any, integer: bool) -> str:
    """A small value inside the item's min/max."""
    low = item.min_value[1] if item.min_value and item.min_value[0] in ("Integer", "Decimal") else None
    high = item.max_value[1] if item.max_value and item.max_value[0] in ("Integer", "Decimal") else None
    value = Decimal(1) if low is None else Decimal(str(low))
    if high is not None and value > Decimal(str(high)):
        value = Decimal(str(high))
    return str(int(value)) if integer else str(value)


def _fillable(item: Any) -> bool:
    """A question a person answers (not computed, read-only or hidden)."""
    hidden = item.hidden or any(a.hidden for a in item.ancestors())
    return item.is_question and not (item.read_only or hidden or item.calculated_expression is not None)


def generic_answers(form: Form) -> dict[str, str]:
    """POST fields answering every fillable question once (first instance of each repeat)."""
    fields: dict[str, str] = {}
    for item in form.walk():
        if not _fillable(item):
            continue
        path = (0,) * item.group_depth
        name = field_name(item.link_id, path)
        kind = item.type
        if kind in ("choice", "open-choice") and item.options:
            fields[name] = item.options[0].token
        elif kind == "open-choice":
            fields[field_name(item.link_id, path, "o")] = "Something else"
        elif kind == "choice":
            fields[name] = "Something"
        elif kind == "boolean":
            fields[name] = "true"
        elif kind in ("integer", "decimal"):
            fields[name] = _number(item, kind == "integer")
        elif kind == "quantity":
            fields[name] = _number(item, False)
            units = list(item.unit_options) or ([item.unit] if item.unit else [])
            if units:
                fields[field_name(item.link_id, path, "u")] = f"{units[0].get('system') or ''}|{units[0].get('code') or ''}"
        elif kind == "date":
            fields[name] = "2020-02-03"
        elif kind == "dateTime":
            fields[name] = "2020-02-03T10:30"
        elif kind == "time":
            fields[name] = "10:30"
        elif kind == "url":
            fields[name] = "https://example.org/"
        elif kind in ("string", "text"):
            fields[name] = "Answer"
        elif kind == "reference" and item.options:
            fields[name] = item.options[0].token
    return fields


_GOTO = re.compile(r'name="action" value="goto:(\d+)"')
_FIELD = re.compile(r'name="([quon]\.[^"]+)"')


def fill_and_send(browser: Any, key: str, fields: dict[str, str]) -> str:
    """Fill a form as a person would and send it; returns the submission id.

    A long form shown as steps (tabs, pages) is filled one step at a time: each step's POST
    carries the answers for the fields that step shows, then the last one asks for the review.
    """
    from tests.questionnaire_flow.flow import csrf

    first = browser.open_form(key).get_data(as_text=True)
    steps = sorted({int(n) for n in _GOTO.findall(first)})
    if not steps:
        return browser.fill_and_send(key, fields)
    last = max(steps)
    for step in range(last + 1):
        page = browser.get(f"questionnaires/{key}?step={step}").get_data(as_text=True)
        shown = set(_FIELD.findall(page))
        data = {name: value for name, value in fields.items() if name in shown}
        action = "submit" if step == last else f"goto:{step + 1}"
        response = browser.client.post(browser.url(f"questionnaires/{key}"),
                                       data={**data, "step": str(step), "action": action, "csrf_token": csrf(page)})
        assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    sent = browser.send(key)
    assert sent.status_code == 303, sent.get_data(as_text=True)[:2000]
    return sent.headers["Location"].rsplit("/", 1)[-1]
