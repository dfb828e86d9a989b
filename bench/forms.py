"""Synthetic Questionnaires of any size, mixing the item types a real intake form has."""
from __future__ import annotations

from typing import Any

CANONICAL = "http://smart-previsit.example.org/fhir/Questionnaire/bench-"
_KINDS = ("string", "integer", "decimal", "boolean", "choice", "date", "text")
_OPTIONS = [{"valueCoding": {"system": "http://example.org/bench", "code": f"o{i}", "display": f"Option {i}"}}
            for i in range(4)]


def synthetic_questionnaire(items: int, *, group_size: int = 10) -> dict[str, Any]:
    """A Questionnaire of exactly `items` items: groups of one group item and up to `group_size - 1` questions.

    Every question type a real intake form uses appears; every fifth question is required and
    the last question of each group has an enableWhen on the group's first question.
    """
    groups: list[dict[str, Any]] = []
    total = question_no = 0
    while total < items:
        group: dict[str, Any] = {"linkId": f"g{len(groups)}", "text": f"Section {len(groups) + 1}", "type": "group", "item": []}
        total += 1
        first = question_no
        while total < items and len(group["item"]) < group_size - 1:
            kind = _KINDS[question_no % len(_KINDS)]
            question: dict[str, Any] = {"linkId": f"q{question_no}", "text": f"Question {question_no}", "type": kind,
                                        "required": question_no % 5 == 0}
            if kind == "choice":
                question["answerOption"] = _OPTIONS
            if kind == "string":
                question["maxLength"] = 200
            if len(group["item"]) == group_size - 2:
                question["enableWhen"] = [{"question": f"q{first}", "operator": "exists", "answerBoolean": True}]
            group["item"].append(question)
            question_no += 1
            total += 1
        if not group["item"]:  # a group needs at least one question; make the last item a question instead
            group = {"linkId": f"q{question_no}", "text": f"Question {question_no}", "type": "string"}
        groups.append(group)
    return {"resourceType": "Questionnaire", "id": f"bench-{items}", "url": f"{CANONICAL}{items}",
            "version": "1.0.0", "name": f"Bench{items}", "title": f"Synthetic form with {items} items",
            "status": "active", "subjectType": ["Patient"], "item": groups}


def answers_for(questionnaire: dict[str, Any]) -> dict[str, str]:
    """Form fields answering every question validly (field names as the form posts them)."""
    from smart_app.forms import build_form, field_name

    form = build_form(questionnaire)
    values = {"string": "fine", "text": "all good", "integer": "3", "decimal": "2.5", "boolean": "true",
              "choice": "http://example.org/bench|o1", "date": "2026-01-15"}
    fields: dict[str, str] = {}
    for item in form.walk():
        if item.is_question:
            fields[field_name(item.link_id, (0,) * item.group_depth)] = values[item.type]
    return fields
