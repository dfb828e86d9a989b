"""What a fired rule shows on the review page and the receipt: topics, contacts, and the clinician's lines.

Built from the findings (review page) or from what the submission stored (receipt), so the
receipt still shows the message after the draft is gone. The words themselves live in
templates/_partials/safety_message.html, one variant per reader.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from .evaluate import Finding
from .flags import flag_text
from .rules import PatientMessage
from .settings import CrisisContact, SafetySettings


@dataclass(frozen=True)
class SafetyNotice:
    """The calm message for the person answering, and what the clinician reads instead."""

    topics: tuple[PatientMessage, ...]
    contacts: tuple[CrisisContact, ...]
    contacts_configured: bool
    lines: tuple[str, ...]  # clinician wording: rule title, question and answer

    def shows(self, topic: str) -> bool:
        """True when this message topic ("mental-health", "physical-urgent") is to be shown."""
        return any(t.value == topic for t in self.topics)


def stored(findings: Iterable[Finding]) -> list[dict[str, str]]:
    """What a submission keeps about its fired rules (ids, topics and the clinician's line; no answers in logs)."""
    return [{"rule": f.rule_id, "message": f.rule.patient_message.value, "line": flag_text(f)} for f in findings]


def notice(fired: Iterable[Mapping[str, Any]], settings: SafetySettings) -> SafetyNotice | None:
    """The notice for fired rules as stored ({"rule", "message", "line"}); None when nothing fired."""
    fired = list(fired)
    if not fired:
        return None
    topics: list[PatientMessage] = []
    for item in fired:
        try:
            topic = PatientMessage(item.get("message"))
        except ValueError:
            topic = PatientMessage.MENTAL_HEALTH  # an unreadable record errs on the side of showing help
        if topic is not PatientMessage.NONE and topic not in topics:
            topics.append(topic)
    contacts = tuple(settings.contacts_for(set(topics)))
    lines = tuple(str(item.get("line") or item.get("rule") or "") for item in fired)
    return SafetyNotice(tuple(topics), contacts, settings.contacts_configured, lines)
