"""The bundled Medication Review Questionnaire: loading it and naming its parts."""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

QUESTIONNAIRE_PATH = Path(__file__).resolve().parent.parent / "forms" / "library" / "medication-review.json"

STATUS_SYSTEM = "http://smart-previsit.example.org/fhir/CodeSystem/medication-review-status"
STOP_REASON_SYSTEM = "http://smart-previsit.example.org/fhir/CodeSystem/medication-stop-reason"

# linkIds of the bundled questionnaire; tests check each one exists there with this type.
GROUP = "medication"
SOURCE = "medication.source"
NAME = "medication.name"
CODE = "medication.code"
STATUS = "medication.status"
HOW_DIFFERENT = "medication.how-different"
SINCE = "medication.since"
WHY_NOT = "medication.why-not"
WHY_OTHER = "medication.why-other"
SIDE_EFFECTS = "medication.side-effects"
ADDED_GROUP = "added-medication"
ADDED_NAME = "added-medication.name"
ADDED_DOSE = "added-medication.dose"
ADDED_HOW_OFTEN = "added-medication.how-often"


@cache
def load_questionnaire() -> dict[str, Any]:
    """The bundled Questionnaire, read once on first use (never at import time)."""
    questionnaire: dict[str, Any] = json.loads(QUESTIONNAIRE_PATH.read_text(encoding="utf-8"))
    return questionnaire


def canonical() -> str:
    """``url|version`` of the bundled questionnaire, as QuestionnaireResponse.questionnaire."""
    q = load_questionnaire()
    return f"{q['url']}|{q['version']}"


# Versions of the review this app shipped before the bundled one: answers to them are still reviews,
# and servers that compare canonicals exactly only find them when each version is named.
EARLIER_VERSIONS = ("1.0.0",)


def known_versions() -> tuple[str, ...]:
    """Every version a stored review may name: the bundled one first, then the earlier ones."""
    return tuple(dict.fromkeys((load_questionnaire()["version"], *EARLIER_VERSIONS)))


@cache
def item_texts() -> dict[str, str]:
    """linkId -> question text, for readable QuestionnaireResponse items."""
    texts: dict[str, str] = {}

    def walk(items: list[dict[str, Any]]) -> None:
        for item in items:
            texts[item["linkId"]] = item.get("text", "")
            walk(item.get("item") or [])

    walk(load_questionnaire()["item"])
    return texts
