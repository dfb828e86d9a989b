"""The EHR's refusal of a response, mapped onto the form: OperationOutcome issue expressions -> the
linkIds of the questions they name, so each message is shown next to its question.

Pure. The transport (smart_app.ehr.client) only parses the OperationOutcome into issues; which
question an issue means is a form rule, so it lives here.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Mapping

from smart_app.ehr.client import FhirError, FhirErrorCode, OutcomeIssue
from smart_app.text import N_

if TYPE_CHECKING:
    from smart_app.forms.engine import FormView


_SEGMENT_RE = re.compile(
    r"""\.?(?:
        where\(\s*linkId\s*=\s*(?P<q>['"])(?P<where>(?:\\.|(?!(?P=q)).)*)(?P=q)\s*\)
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:\[(?P<index>\d+)\])?
      | ofType\([A-Za-z]+\)
    )""",
    re.VERBOSE,
)
_BUNDLE_ENTRY_RE = re.compile(r"^Bundle\.entry\[(\d+)\]\.resource(?:\.ofType\([A-Za-z]+\))?")


def link_id_for_expression(expression: str, questionnaire_response: Mapping[str, Any] | None = None,
                           *, entry_index: int | None = None) -> str | None:
    """Map a FHIRPath-ish issue expression on a QR to the linkId of the deepest item it names.

    Understands `QuestionnaireResponse.item[0].item[2]`, `answer[0].item[1]`,
    `item.where(linkId='x')` and a `Bundle.entry[n].resource` prefix (skipped unless n
    equals `entry_index`, when that is given). Index paths need the QR; `where` does not.
    """
    expr = expression.strip()
    bundle_prefix = _BUNDLE_ENTRY_RE.match(expr)
    if bundle_prefix:
        if entry_index is not None and int(bundle_prefix.group(1)) != entry_index:
            return None
        expr = "QuestionnaireResponse" + expr[bundle_prefix.end():]
    node: Mapping[str, Any] | None = questionnaire_response
    pending_list: str | None = None  # "item"/"answer" seen without an index, awaiting where()
    deepest: str | None = None
    pos = 0
    while pos < len(expr):
        m = _SEGMENT_RE.match(expr, pos)
        if not m or m.end() == pos:
            break
        pos = m.end()
        if m.group("where") is not None:
            if pending_list != "item":
                break
            link_id = m.group("where").replace("\\'", "'").replace('\\"', '"')
            deepest = link_id
            children = node.get("item") if isinstance(node, Mapping) else None
            node = next((c for c in children or [] if isinstance(c, Mapping) and c.get("linkId") == link_id), None)
            pending_list = None
            continue
        name = m.group("name")
        if name is None:  # ofType(...)
            continue
        if name == "QuestionnaireResponse" and deepest is None and pending_list is None:
            continue
        if name not in ("item", "answer"):
            break
        if m.group("index") is None:
            pending_list = name
            continue
        pending_list = None
        children = node.get(name) if isinstance(node, Mapping) else None
        idx = int(m.group("index"))
        if not isinstance(children, list) or idx >= len(children) or not isinstance(children[idx], Mapping):
            break
        node = children[idx]
        if name == "item" and isinstance(node.get("linkId"), str):
            deepest = node["linkId"]
    return deepest


def issue_link_ids(issue: OutcomeIssue, questionnaire_response: Mapping[str, Any] | None = None,
                   *, entry_index: int | None = None) -> list[str]:
    """The QR item linkIds one issue points at (deepest item per expression)."""
    found: list[str] = []
    for expr in issue.expression:
        link_id = link_id_for_expression(expr, questionnaire_response, entry_index=entry_index)
        if link_id is not None and link_id not in found:
            found.append(link_id)
    return found


def field_errors(error: FhirError, bundle: Mapping[str, Any]) -> dict[str, list[str]]:
    """OperationOutcome issues mapped to QuestionnaireResponse linkIds (400/422 only)."""
    if error.code is not FhirErrorCode.INVALID and error.status not in (400, 422):
        return {}
    entries = bundle.get("entry") or []
    qr_index = next((i for i, e in enumerate(entries) if e["resource"]["resourceType"] == "QuestionnaireResponse"), None)
    qr = entries[qr_index]["resource"] if qr_index is not None else None
    mapped: dict[str, list[str]] = {}
    for issue in error.issues:
        message = issue.details_text or issue.diagnostics or N_("This answer was not accepted.")
        for link_id in issue_link_ids(issue, qr, entry_index=qr_index):
            mapped.setdefault(link_id, []).append(message)
    return mapped


def general_messages(error: FhirError) -> list[str]:
    """Issue texts that name no answer, shown above the form (escaped by the template)."""
    if error.code is not FhirErrorCode.INVALID and error.status not in (400, 422):
        return []
    return [text for i in error.issues if not i.expression and (text := i.details_text or i.diagnostics)][:5]


def attach_field_errors(view: FormView, errors: Mapping[str, list[str]]) -> None:
    """Show the EHR's OperationOutcome messages next to the fields they name."""
    for node in view.nodes:
        for message in errors.get(node.item.link_id, []):
            if message not in node.errors:
                node.errors.append(message)
