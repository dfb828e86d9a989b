"""The latest patient-reported review vs. the current list, for the clinician sidebar."""
from __future__ import annotations

from typing import Any

from smart_app.text import FhirDate, Joined, Text

from . import questionnaire as q
from ._json import obj, objs, text
from .model import STOP_REASON_WORDS, Difference, MedicationRow, plain_date


class NotAMedicationReview(ValueError):
    """The QuestionnaireResponse does not answer the bundled Medication Review Questionnaire."""


_ORDER = {"not-taking": 0, "taking-differently": 1, "not-sure": 2, "new-medicine": 3}


def clinician_diff(current_rows: list[MedicationRow], latest_qr: dict[str, Any] | None) -> list[Difference]:
    """What the patient reported that differs from the list: not taking, differently, not sure, new."""
    if not latest_qr:
        return []
    base_url = q.load_questionnaire()["url"]
    if text(latest_qr.get("questionnaire")).split("|")[0] != base_url:
        raise NotAMedicationReview("not a medication review response")
    by_ref = {ref: row for row in current_rows for ref in row.references}
    by_code = {(row.code.system, row.code.code): row for row in current_rows if row.code and row.code.code}
    found: list[Difference] = []
    for item in objs(latest_qr.get("item")):
        children = _children(item)
        if item.get("linkId") == q.GROUP:
            difference = _reported_difference(children, by_ref, by_code)
        elif item.get("linkId") == q.ADDED_GROUP:
            difference = _added_difference(children)
        else:
            difference = None
        if difference is not None:
            found.append(difference)
    return sorted(found, key=lambda d: (_ORDER[d.kind], d.medicine.casefold()))


def _children(item: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Answers of a group's child items, by linkId."""
    return {text(child.get("linkId")): objs(child.get("answer")) for child in objs(item.get("item"))}


def _first(answers: list[dict[str, Any]], key: str) -> str | None:
    """The first non-empty string answer of one type (valueString, valueDate), or None."""
    return next((text(a.get(key)) for a in answers if text(a.get(key))), None)


def _first_code(answers: list[dict[str, Any]]) -> dict[str, Any]:
    """The first valueCoding answer, or an empty one."""
    return next((obj(a.get("valueCoding")) for a in answers if obj(a.get("valueCoding"))), {})


def _reported_difference(
    children: dict[str, list[dict[str, Any]]],
    by_ref: dict[str, MedicationRow],
    by_code: dict[tuple[Any, Any], MedicationRow],
) -> Difference | None:
    """A difference for one reported medicine, or None when taken as prescribed."""
    status = _first_code(children.get(q.STATUS, [])).get("code")
    refs = [text(obj(a.get("valueReference")).get("reference")) for a in children.get(q.SOURCE, [])]
    coding = _first_code(children.get(q.CODE, []))
    row = next((by_ref[ref] for ref in refs if ref in by_ref), None)
    if row is None and text(coding.get("code")):
        row = by_code.get((text(coding.get("system")) or None, text(coding.get("code"))))
    name = row.name if row else (_first(children.get(q.NAME, []), "valueString") or Text("Unnamed medicine"))
    side_effects = _first(children.get(q.SIDE_EFFECTS, []), "valueString")
    if status == "not-taking":
        since = _first(children.get(q.SINCE, []), "valueDate")
        why = _first_code(children.get(q.WHY_NOT, [])).get("code")
        parts: list[str] = [Text("Reported not taking it")]  # the clinician reads this; "Not taking it" is the patient's own answer
        if since:
            parts.append(Text("since %(date)s", date=FhirDate(since, plain_date(since) or since)))
        if why in STOP_REASON_WORDS:
            # Only "other" carries the patient's words; a stray why-other beside another reason is not theirs to show.
            other = _first(children.get(q.WHY_OTHER, []), "valueString") if why == "other" else None
            reason = Text(STOP_REASON_WORDS[why])
            parts.append(Text("(%(reason)s: %(other)s)", reason=reason, other=other) if other
                         else Text("(%(reason)s)", reason=reason))
        return Difference("not-taking", name, Joined(parts), row, side_effects)
    if status == "different":
        how = _first(children.get(q.HOW_DIFFERENT, []), "valueString")
        return Difference("taking-differently", name, Text("Takes it differently: %(how)s", how=how) if how
                          else Text("Takes it differently: no details given"), row, side_effects)
    if status == "unsure":
        return Difference("not-sure", name, Text("Not sure whether they take it"), row, side_effects)
    return None


def _added_difference(children: dict[str, list[dict[str, Any]]]) -> Difference | None:
    """A difference for a medicine the patient added to the list."""
    name = _first(children.get(q.ADDED_NAME, []), "valueString")
    if not name:
        return None
    dose = _first(children.get(q.ADDED_DOSE, []), "valueString")
    often = _first(children.get(q.ADDED_HOW_OFTEN, []), "valueString")
    detail = ", ".join(part for part in (dose, often) if part)
    return Difference("new-medicine", name, Text("Not on the list: %(detail)s", detail=detail) if detail
                      else Text("Not on the list: no dose given"))
