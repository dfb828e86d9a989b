"""Action helpers for the medication review flow: read the pages as a browser would and post its forms."""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask.testing import FlaskClient

from tests.fixtures.e2e import E2E

QUESTIONNAIRE_URL = "http://smart-previsit.example.org/fhir/Questionnaire/medication-review"
ADHERENCE_LOINC = "71799-1"
SUBMISSION_SYSTEM = "http://smart-previsit.example.org/fhir/sid/submission"

_ROW = re.compile(r'<fieldset class="med-row[^"]*" id="med-([A-Za-z0-9_-]+)-row">\s*<legend class="med-name">([^<]*)</legend>')
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_SUBMISSION = re.compile(r'name="submission_id" value="([^"]+)"')


def rows_on(body: str) -> dict[str, str]:
    """Medicine name -> row key, from the review page's fieldsets."""
    return {html.unescape(name): key for key, name in _ROW.findall(body)}


def csrf_of(body: str) -> str:
    """The CSRF token of the first form on a page."""
    match = _CSRF.search(body)
    assert match, "no CSRF field on the page"
    return match.group(1)


def submission_id_of(body: str) -> str:
    """The submission id carried by the check page's send form."""
    match = _SUBMISSION.search(body)
    assert match, "no submission id on the check page"
    return match.group(1)


def path_of(response: Any) -> str:
    """The path a redirect points at."""
    return urlsplit(response.headers["Location"]).path


def key_for(rows: dict[str, str], fragment: str) -> str:
    """The row key of the one medicine whose name contains `fragment`, in any case."""
    keys = [key for name, key in rows.items() if fragment.casefold() in name.casefold()]
    assert len(keys) == 1, (fragment, rows)
    return keys[0]


@dataclass
class Reviewer:
    """Fills and sends the medication review of one launch, with one browser."""

    e2e: E2E
    handle: str
    client: FlaskClient

    @property
    def base(self) -> str:
        """The review's URL prefix."""
        return f"/l/{self.handle}/medications/"

    def open(self) -> tuple[str, dict[str, str]]:
        """GET the review page; returns its HTML and the rows (name -> key)."""
        response = self.client.get(self.base)
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        body = response.get_data(as_text=True)
        return body, rows_on(body)

    def answers(self, rows: dict[str, str], special: dict[str, dict[str, str]] | None = None,
                added: list[dict[str, str]] | None = None) -> dict[str, str]:
        """Form fields: "taking" for every row unless `special` (name fragment -> parts) says otherwise."""
        special = special or {}
        chosen = {key_for(rows, fragment): parts for fragment, parts in special.items()}
        form: dict[str, str] = {}
        for key in rows.values():
            for part, value in chosen.get(key, {"status": "taking"}).items():
                form[f"med.{key}.{part}"] = value
        for index, medicine in enumerate(added or []):
            for part, value in medicine.items():
                form[f"add.{index}.{part}"] = value
        return form

    def post(self, form: dict[str, str], action: str = "submit") -> Any:
        """POST the review form with a fresh CSRF token."""
        token = csrf_of(self.client.get(self.base).get_data(as_text=True))
        return self.client.post(self.base, data={**form, "action": action, "csrf_token": token})

    def check(self) -> tuple[str, str]:
        """GET the check-before-send page; returns its HTML and the submission id."""
        response = self.client.get(self.base + "check")
        assert response.status_code == 200, response.headers.get("Location")
        body = response.get_data(as_text=True)
        return body, submission_id_of(body)

    def send(self, submission_id: str) -> Any:
        """POST "Send to my care team"."""
        token = csrf_of(self.client.get(f"/l/{self.handle}/").get_data(as_text=True))
        return self.client.post(self.base + "send", data={"submission_id": submission_id, "csrf_token": token})

    def prepare(self, special: dict[str, dict[str, str]] | None = None,
                added: list[dict[str, str]] | None = None) -> str:
        """Answer and continue to the check page; returns the submission id, ready to send."""
        _, rows = self.open()
        response = self.post(self.answers(rows, special, added))
        assert response.status_code == 303, response.get_data(as_text=True)[:2000]
        return self.check()[1]

    def review_and_send(self, special: dict[str, dict[str, str]] | None = None,
                        added: list[dict[str, str]] | None = None) -> tuple[str, Any]:
        """The whole patient path: answer, continue, check, send; returns (submission id, send response)."""
        submission_id = self.prepare(special, added)
        return submission_id, self.send(submission_id)


def stored_reviews(e2e: E2E, patient: str) -> list[dict[str, Any]]:
    """Medication review QuestionnaireResponses the sandbox holds for a patient."""
    return [qr for qr in e2e.sandbox.resources("QuestionnaireResponse")
            if qr.get("subject", {}).get("reference") == f"Patient/{patient}"
            and qr.get("questionnaire", "").split("|")[0] == QUESTIONNAIRE_URL]


def stored_adherence(e2e: E2E, patient: str) -> list[dict[str, Any]]:
    """Adherence Observations the sandbox holds for a patient."""
    return [obs for obs in e2e.sandbox.resources("Observation")
            if obs.get("subject", {}).get("reference") == f"Patient/{patient}"
            and any(c.get("code") == ADHERENCE_LOINC for c in obs.get("code", {}).get("coding", []))]


def stored_provenance(e2e: E2E, targets: set[str]) -> list[dict[str, Any]]:
    """Provenance resources naming any of `targets` (relative references)."""
    return [p for p in e2e.sandbox.resources("Provenance")
            if {t.get("reference") for t in p.get("target", [])} & targets]


def children(group: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """A QR group's answers by child linkId."""
    return {item["linkId"]: item.get("answer", []) for item in group.get("item", [])}
