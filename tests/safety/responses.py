"""Build completed QuestionnaireResponses for the safety tests, and score them with the app's own scoring."""
from __future__ import annotations

import json
from pathlib import Path

from smart_app.forms.catalog import response_score
from smart_app.forms import build_form
from smart_app.forms.library import find
from smart_app.forms.model import Form
from smart_app.safety import Finding, RuleSet, evaluate, shipped_rules

LOINC = "http://loinc.org"
DATA = Path(__file__).parent / "data"
FREQUENCY = [("LA6568-5", "Not at all"), ("LA6569-3", "Several days"), ("LA6570-1", "More than half the days"),
             ("LA6571-9", "Nearly every day")]
LIBRARY = "http://smart-previsit.example.org/fhir/Questionnaire/"


def library_form(name: str) -> Form:
    """A bundled form, built."""
    return build_form(find(LIBRARY + name))


def public_form(name: str) -> Form:
    """A public Questionnaire from tests/safety/data (an EHR's copy)."""
    return build_form(json.loads((DATA / name).read_text(encoding="utf-8")))


def frequency(points: int) -> dict:
    """One answer from the PHQ/GAD frequency list (LOINC LL358-3)."""
    code, display = FREQUENCY[points]
    return {"valueCoding": {"system": LOINC, "code": code, "display": display}}


def response(form: Form, items: list[dict]) -> dict:
    """A completed response to `form` citing its canonical."""
    return {"resourceType": "QuestionnaireResponse", "status": "completed",
            "questionnaire": form.canonical, "item": items}


def phq9_library(points: list[int]) -> dict:
    """Our PHQ-9 answered with these points for questions 1..9 (grouped as the form groups them)."""
    form = library_form("phq-9")
    questions = [{"linkId": f"phq9-q{i}", "answer": [frequency(p)]} for i, p in enumerate(points, start=1)]
    return response(form, [{"linkId": "phq9", "item": questions}])


def gad7_library(points: list[int]) -> dict:
    """Our GAD-7 answered with these points for questions 1..7."""
    form = library_form("gad-7")
    questions = [{"linkId": f"gad7-q{i}", "answer": [frequency(p)]} for i, p in enumerate(points, start=1)]
    return response(form, [{"linkId": "gad7", "item": questions}])


def intake(systolic: int | None, diastolic: int | None) -> dict:
    """Our intake form with a blood pressure reading (either number may be left out)."""
    form = library_form("previsit-intake")
    bp = [{"linkId": link, "answer": [{"valueInteger": value}]}
          for link, value in (("bp-systolic", systolic), ("bp-diastolic", diastolic)) if value is not None]
    return response(form, [{"linkId": "reason", "answer": [{"valueString": "Check-up"}]},
                           {"linkId": "measurements", "item": [{"linkId": "blood-pressure", "item": bp}]}])


def fired(form: Form, qr: dict, rules: RuleSet | None = None) -> list[Finding]:
    """Evaluate (shipped rules by default) with the total the app's scoring computes."""
    return evaluate(rules or shipped_rules(), form, qr, score=response_score(form, qr))


def fired_ids(form: Form, qr: dict, rules: RuleSet | None = None) -> set[str]:
    """Ids of the rules that fired."""
    return {f.rule_id for f in fired(form, qr, rules)}


