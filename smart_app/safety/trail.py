"""The audit trail of fired rules: `safety.rule_fired` with the rule id and resource ids, never answers."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

from smart_app.audit import events as audit

if TYPE_CHECKING:
    from smart_app.delivery.writeback import Receipt

from .flags import rule_id_of


def rules_fired(fired: Sequence[Mapping[str, Any]], bundle: Mapping[str, Any], receipt: "Receipt",
                **ids: Any) -> list[dict[str, Any]]:
    """One event per fired rule once its submission is in the EHR: the response and the Flag it left.

    `flag` is absent (and `flag_written` false) when the EHR's scopes left the Flag out of the bundle.
    Returns the logged events (for tests).
    """
    entries = list(bundle.get("entry") or [])
    written = {}
    response = None
    for entry, result in zip(entries, receipt.entries):
        resource = entry["resource"]
        if resource["resourceType"] == "QuestionnaireResponse" and result.id:
            response = f"QuestionnaireResponse/{result.id}"
        elif resource["resourceType"] == "Flag" and result.id:
            written[rule_id_of(resource)] = f"Flag/{result.id}"
    events = []
    for item in fired:
        rule = str(item.get("rule") or "")
        flag = written.get(rule)
        events.append(audit.event("safety.rule_fired", rule=rule, questionnaire_response=response, flag=flag,
                                  flag_written=flag is not None, **ids))
    return events
