"""Answer lists for value sets a form does not contain: the EHR's $expand first, then bundled, then free text.

The form is HL7's SDC extract example (tests/forms_corpus/), whose `relationship` and `gender`
items name HL7 value sets by canonical URL. The sandbox holds patient-contactrelationship and
expands it like a terminology-capable EHR; administrative-gender it does not hold.
"""
from __future__ import annotations

import pytest

from smart_app.forms import terminology
from tests.fixtures.e2e import PATIENT
from tests.questionnaire_flow.corpus import corpus_form, fields
from tests.questionnaire_flow.flow import Browser, stored

FILE = "sdc-extract-complex-template"
FORM = "extract-complex-template"  # its id
V2_0131 = "http://terminology.hl7.org/CodeSystem/v2-0131"


@pytest.fixture(autouse=True)
def _fresh_terminology_cache():
    """Expansions are cached per process; each test starts cold."""
    terminology.clear_cache()
    yield
    terminology.clear_cache()


def _launch(e2e, exclude=()):
    """The SDC form stored on the EHR and launched from the clinician's sidebar."""
    questionnaire = corpus_form(FILE)
    e2e.sandbox.store.create(dict(questionnaire))
    handle = e2e.launcher.ehr(patient=PATIENT, questionnaire=f"Questionnaire/{FORM}", exclude_scopes=exclude)
    return questionnaire, Browser(e2e.client, handle)


def _relabel_next_of_kin(e2e, display):
    """Change the EHR's own copy of the value set, so its expansion is told apart from the bundled one."""
    value_set = e2e.sandbox.read("ValueSet", "patient-contactrelationship")
    for concept in value_set["compose"]["include"][0]["concept"]:
        if concept["code"] == "N":
            concept["display"] = display
    e2e.sandbox.store.update(value_set)


def _send_relationship(e2e, questionnaire, browser):
    """Answer the contact's relationship (Next-of-Kin) and send; the stored QuestionnaireResponse."""
    response = browser.post_form(FORM, fields(questionnaire, {
        "relationship": f"{V2_0131}|N", "contact-name": "Marta Lopez", "gender": "http://hl7.org/fhir/administrative-gender|female"}))
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    sent = browser.send(FORM)
    sid = sent.headers["Location"].rsplit("/", 1)[-1]
    [qr] = stored(e2e.sandbox, sid)["QuestionnaireResponse"]
    return {i["linkId"]: i for group in qr["item"] for i in group.get("item") or []}


def test_the_ehrs_expansion_is_offered_and_its_coding_is_written(e2e):
    _relabel_next_of_kin(e2e, "Next of kin (clinic list)")
    questionnaire, browser = _launch(e2e)
    page = browser.open_form(FORM).get_data(as_text=True)
    assert "Next of kin (clinic list)" in page
    assert "Male" in page  # administrative-gender is not on this EHR: the bundled expansion serves
    answers = _send_relationship(e2e, questionnaire, browser)
    assert answers["relationship"]["answer"] == [
        {"valueCoding": {"system": V2_0131, "code": "N", "display": "Next of kin (clinic list)"}}]


def test_without_value_set_access_the_bundled_expansion_is_used(e2e):
    _relabel_next_of_kin(e2e, "Next of kin (clinic list)")
    questionnaire, browser = _launch(e2e, exclude=("patient/ValueSet.rs",))
    page = browser.open_form(FORM).get_data(as_text=True)
    assert "Next of kin (clinic list)" not in page and "Next-of-Kin" in page
    answers = _send_relationship(e2e, questionnaire, browser)
    assert answers["relationship"]["answer"] == [{"valueCoding": {"system": V2_0131, "code": "N",
                                                                  "display": "Next-of-Kin"}}]
