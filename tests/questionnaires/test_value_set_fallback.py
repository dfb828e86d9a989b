"""When a list cannot be shown as buttons: typed answers still record the listed coding; a choice is never valueString."""
from __future__ import annotations

from smart_app.forms.answers import parse_answer
from smart_app.forms import build_form

from .conftest import item, questionnaire, run
from .test_rendering import Page

GENDER = "http://hl7.org/fhir/ValueSet/administrative-gender"
AUTOCOMPLETE = ("questionnaire-itemControl", "valueCodeableConcept", {"coding": [{"code": "autocomplete"}]})


def test_a_bundled_list_answers_a_non_contained_value_set():
    form = build_form(questionnaire(item("g", "choice", answerValueSet=GENDER + "|4.0.1")))
    g = form.by_link_id["g"]
    assert g.options_source == "bundled" and g.answer_value_set == GENDER + "|4.0.1"
    assert parse_answer(g, "http://hl7.org/fhir/administrative-gender|female") == (
        "Coding", {"system": "http://hl7.org/fhir/administrative-gender", "code": "female", "display": "Female"})


def test_typing_a_listed_answer_records_its_coding(render):
    q = questionnaire(item("g", "choice", answerValueSet=GENDER, ext=[AUTOCOMPLETE]),
                      item("o", "open-choice", answerValueSet=GENDER, ext=[AUTOCOMPLETE]))
    form, _, view = run(q, {"q.g.r": "  female ", "q.o.r": "Non-binary"})
    assert view.node("g").answers == [("Coding", {"system": "http://hl7.org/fhir/administrative-gender",
                                                  "code": "female", "display": "Female"})]
    assert view.node("o").answers == [("String", "Non-binary")]  # open-choice: free text is allowed
    page = Page(render(view))
    [control] = page.find("input", name="q.g.r")
    assert control["type"] == "text" and control["value"] == "  female "  # re-shown exactly as typed
    assert [o["value"] for o in page.find("option") if o.get("value")][:4] == ["Male", "Female", "Other", "Unknown"]


def test_an_unlisted_answer_to_a_choice_is_a_coding_with_only_the_text():
    q = questionnaire(item("g", "choice", answerValueSet=GENDER, ext=[AUTOCOMPLETE]),
                      item("x", "choice", answerValueSet="http://snomed.info/sct?fhir_vs=ecl/<<365458002"))
    _, _, view = run(q, {"q.g.r": "Two-spirit", "q.x.r": "Arrernte"})
    assert view.node("g").answers == [("Coding", {"display": "Two-spirit"})]
    assert view.node("x").answers == [("Coding", {"display": "Arrernte"})]
    assert view.response_items[1]["answer"] == [{"valueCoding": {"display": "Arrernte"}}]
