"""A sandbox restarted on its old database keeps the data but serves the app's current bundled forms."""
from __future__ import annotations

import json
from pathlib import Path

from sandbox import create_sandbox_app
from smart_app.forms.library import find

LIBRARY = Path(__file__).resolve().parents[2] / "smart_app" / "forms" / "library"
REVIEW = "http://smart-previsit.example.org/fhir/Questionnaire/medication-review"


def _sandbox(db: Path):
    """The sandbox app on this database file (not served: only its store is looked at)."""
    return create_sandbox_app(base_url="http://127.0.0.1:9", db_path=str(db))


def test_an_older_copy_of_a_bundled_form_is_brought_up_to_date_and_other_data_is_kept(tmp_path):
    db = tmp_path / "sandbox.sqlite3"
    store = _sandbox(db).extensions["sandbox"].store
    current = store.read("Questionnaire", "medication-review")
    older = {**{k: v for k, v in current.items() if k != "meta"}, "version": "0.9.0", "item": current["item"][:1]}
    store.update(older)
    store.delete("Questionnaire", "gad-7")
    note = store.create({"resourceType": "Observation", "status": "final", "code": {"text": "kept"},
                         "subject": {"reference": "Patient/pat-ana"}})

    store = _sandbox(db).extensions["sandbox"].store
    served = store.read("Questionnaire", "medication-review")
    assert served["version"] == find(REVIEW)["version"]
    assert served["item"] == json.loads((LIBRARY / "medication-review.json").read_text())["item"]
    assert store.read("Questionnaire", "gad-7")["url"].endswith("/gad-7")  # a deleted bundled form comes back
    assert store.read("Observation", note["id"])["code"] == {"text": "kept"}  # the developer's data stays


def test_an_up_to_date_store_is_not_rewritten(tmp_path):
    db = tmp_path / "sandbox.sqlite3"
    first = _sandbox(db).extensions["sandbox"].store.read("Questionnaire", "phq-9")["meta"]["versionId"]
    again = _sandbox(db).extensions["sandbox"].store.read("Questionnaire", "phq-9")["meta"]["versionId"]
    assert again == first
