"""Test helpers: fill, review and send questionnaires through the app as a browser would."""
from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient

LOINC = "http://loinc.org"
PHQ9_URL = "http://smart-previsit.example.org/fhir/Questionnaire/phq-9"
INTAKE_URL = "http://smart-previsit.example.org/fhir/Questionnaire/previsit-intake"
SYSTEM = "http://smart-previsit.example.org/fhir/sid/submission"
OPTIONS = ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"]  # 0..3 points

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_SID = re.compile(r'name="submission_id" value="([^"]+)"')
_RECEIPT = re.compile(r"/l/[^/]+/submissions/([^/?#]+)$")


def csrf(page: str) -> str:
    """The CSRF token of a rendered page."""
    match = _CSRF.search(page)
    assert match, "page has no CSRF field"
    return match.group(1)


def phq9_answers(points: list[int]) -> dict[str, str]:
    """Form fields answering PHQ-9 items 1..9 with these points."""
    return {f"q.phq9-q{i}.0": f"{LOINC}|{OPTIONS[p]}" for i, p in enumerate(points, start=1)}


def intake_answers(*, weight: str = "70.5", systolic: str = "128", diastolic: str = "82",
                   allergy: str = "false") -> dict[str, str]:
    """Form fields answering the intake form (reason, allergy check, weight in kg, BP)."""
    return {"q.reason.r": "Check-up", "q.allergy-check.r": allergy, "q.weight.0": weight,
            "u.weight.0": "http://unitsofmeasure.org|kg", "q.bp-systolic.0_0": systolic,
            "q.bp-diastolic.0_0": diastolic}


class Browser:
    """One browser (test client) working in one launch."""

    def __init__(self, client: FlaskClient, handle: str) -> None:
        """Bind to a client and a launch handle."""
        self.client = client
        self.handle = handle

    def url(self, path: str) -> str:
        """A URL under the launch prefix."""
        return f"/l/{self.handle}/{path}"

    def get(self, path: str) -> Any:
        """GET a launch page."""
        return self.client.get(self.url(path))

    def open_form(self, key: str) -> Any:
        """GET the fill page and return the response."""
        response = self.get(f"questionnaires/{key}")
        assert response.status_code == 200, response.get_data(as_text=True)[:2000]
        return response

    def post_form(self, key: str, fields: dict[str, str], action: str = "submit") -> Any:
        """POST the fill page with fields and an action, after loading it for a CSRF token."""
        page = self.open_form(key).get_data(as_text=True)
        return self.client.post(self.url(f"questionnaires/{key}"),
                                data={**fields, "action": action, "csrf_token": csrf(page)})

    def review(self, key: str) -> tuple[str, str]:
        """GET the review page; returns (html, submission id)."""
        response = self.get(f"questionnaires/{key}/review")
        assert response.status_code == 200, response.get_data(as_text=True)[:2000]
        html = response.get_data(as_text=True)
        match = _SID.search(html)
        assert match, "review page has no send form"
        return html, match.group(1)

    def send(self, key: str, submission_id: str | None = None) -> Any:
        """POST 'Send to my care team' from the review page."""
        html, sid = self.review(key) if submission_id is None else (self.open_form(key).get_data(as_text=True), submission_id)
        return self.client.post(self.url(f"questionnaires/{key}/send"),
                                data={"submission_id": sid, "csrf_token": csrf(html)})

    def fill_and_send(self, key: str, fields: dict[str, str]) -> str:
        """Fill, review and send; returns the submission id from the receipt redirect."""
        response = self.post_form(key, fields)
        assert response.status_code == 303, response.get_data(as_text=True)[:3000]
        response = self.send(key)
        assert response.status_code == 303, response.get_data(as_text=True)[:2000]
        match = _RECEIPT.search(response.headers["Location"])
        assert match, response.headers["Location"]
        return match.group(1)


def of_submission(resources: list[dict], submission_id: str) -> list[dict]:
    """Resources whose identifier (or Provenance tag) belongs to this submission."""
    found = []
    for resource in resources:
        identifiers = resource.get("identifier") or []
        identifiers = [identifiers] if isinstance(identifiers, dict) else identifiers
        tags = (resource.get("meta") or {}).get("tag") or []
        values = [i.get("value", "") for i in identifiers if i.get("system") == SYSTEM]
        values += [t.get("code", "") for t in tags if t.get("system") == SYSTEM]
        if any(v == submission_id or v.startswith(submission_id + "/") for v in values):
            found.append(resource)
    return found


def stored(sandbox: Any, submission_id: str) -> dict[str, list[dict]]:
    """The sandbox's QuestionnaireResponses, Observations and Provenances of one submission."""
    return {t: of_submission(sandbox.resources(t), submission_id)
            for t in ("QuestionnaireResponse", "Observation", "Provenance")}


def codes(observation: dict) -> set[str]:
    """The codes of an Observation."""
    return {c.get("code") for c in (observation.get("code") or {}).get("coding") or []}
