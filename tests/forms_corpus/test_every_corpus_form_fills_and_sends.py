"""Every real public Questionnaire in the corpus renders, fills with generic answers, sends to the
sandbox, and the written response is linked to its form (by canonical, or by its full literal reference)."""
from __future__ import annotations

import pytest

from smart_app.forms.catalog import clear_form_cache
from smart_app.forms import FormState, build_form, evaluate
from tests.fixtures.e2e import PATIENT
from tests.forms_corpus.corpus import FILES, fill_and_send, generic_answers, load
from tests.questionnaire_flow.flow import Browser, stored


def test_the_corpus_has_at_least_fifteen_public_forms_listed_in_its_manifest() -> None:
    from tests.forms_corpus.corpus import HERE
    # MANIFEST.md, plus any manifest another part of the team keeps beside it (MANIFEST-*.md).
    manifest = "".join(p.read_text(encoding="utf-8") for p in sorted(HERE.glob("MANIFEST*.md")))
    assert len(FILES) >= 15
    assert all(name in manifest for name in FILES)


@pytest.mark.parametrize("name", FILES)
def test_corpus_form_is_never_refused_and_generic_answers_validate(name) -> None:
    form = build_form(load(name))
    view = evaluate(form, FormState.from_post(form, generic_answers(form)))
    assert view.valid, [(e.link_id, e.message) for e in view.errors]


@pytest.mark.parametrize("name", FILES)
def test_corpus_form_renders_fills_and_sends_to_the_sandbox(e2e, name) -> None:
    resource = load(name)
    e2e.sandbox.store.create(resource)
    clear_form_cache()
    browser = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT, questionnaire=f"Questionnaire/{resource['id']}"))
    page = browser.open_form(resource["id"]).get_data(as_text=True)
    assert "questionnaire-form" in page
    sid = fill_and_send(browser, resource["id"], generic_answers(build_form(resource)))
    [qr] = stored(e2e.sandbox, sid)["QuestionnaireResponse"]
    assert qr["status"] == "completed" and qr["subject"] == {"reference": f"Patient/{PATIENT}"}
    if resource.get("url"):
        assert qr["questionnaire"].partition("|")[0] == resource["url"]
    else:  # no canonical: the literal reference on the EHR, in full
        assert qr["questionnaire"] == f"{e2e.sandbox.fhir_base}/Questionnaire/{resource['id']}"
    # The form is now completed for this patient, not offered as due again.
    listing = browser.get("questionnaires/").get_data(as_text=True)
    assert f"responses/{qr['id']}" in listing
