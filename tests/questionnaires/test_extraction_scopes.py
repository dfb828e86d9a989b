"""The write scopes a form's SDC extraction needs are derived from the form, and only those are asked for."""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from smart_app.forms import load_library
from smart_app.forms.resource_extraction import extraction_scopes, write_scopes, write_types

CORPUS = Path(__file__).resolve().parents[1] / "forms_corpus"


def _corpus(name: str) -> dict:
    """A corpus Questionnaire."""
    return json.loads((CORPUS / f"{name}.json").read_text(encoding="utf-8"))


def test_the_sdc_examples_need_observation_related_person_and_a_task_for_the_patient():
    for name in ("sdc-extract-complex-template", "sdc-extract-complex-defn3"):
        assert write_types(_corpus(name)) == {"Observation", "RelatedPerson", "Task"}
    assert write_scopes([_corpus("sdc-extract-complex-template")]) == [
        "patient/Observation.c", "patient/RelatedPerson.c", "patient/Task.c"]


def test_forms_without_template_or_definition_extraction_need_no_extra_scope():
    assert write_scopes(load_library()) == []
    assert extraction_scopes() == []  # so the launch asks for nothing beyond launch.json
    assert write_types(_corpus("aehrc-715-health-check")) == frozenset()


def test_a_bundled_form_that_extracts_makes_every_launch_ask_for_its_write_scopes(monkeypatch, make_app, fake_ehr):
    # create_app hands the bundled forms' scopes to the launch layer (which reads no forms itself).
    monkeypatch.setattr("smart_app.forms.resource_extraction.shared",
                        lambda: (_corpus("sdc-extract-complex-template"), *load_library()))
    client = make_app().test_client()
    response = client.get("/launch", query_string={"iss": fake_ehr.base, "launch": "x"})
    assert response.status_code == 302
    scope = parse_qs(urlsplit(response.headers["Location"]).query)["scope"][0].split()
    assert {"patient/Observation.c", "patient/RelatedPerson.c", "patient/Task.c"} <= set(scope)
