"""A `choice` answer is always a Coding: with no list to pick from, typed text becomes the Coding's
display (no code invented), never a valueString; `open-choice` may hold free text."""
from __future__ import annotations

from smart_app.forms import ExtractMeta, ResponseMeta, extract_observations, to_questionnaire_response

from .conftest import LOINC, item, questionnaire, run


def test_choice_without_resolvable_options_writes_a_coding_with_the_typed_display() -> None:
    q = questionnaire(item("c", "choice", answerValueSet="http://example.org/ValueSet/not-here",
                           code=[{"system": LOINC, "code": "1234-5"}]),
                      item("o", "open-choice", answerValueSet="http://example.org/ValueSet/not-here"),
                      extension=[{"url": "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-observationExtract",
                                  "valueBoolean": True}])
    form, state, view = run(q, {"q.c.r": "Sometimes", "q.o.r": "Often"})
    qr = to_questionnaire_response(form, state, ResponseMeta(), view=view)
    assert qr["item"][0]["answer"] == [{"valueCoding": {"display": "Sometimes"}}]
    assert qr["item"][1]["answer"] == [{"valueString": "Often"}]
    assert view.node("c").raw == ["Sometimes"]  # re-renders exactly what was typed
    [obs] = extract_observations(form, qr, ExtractMeta())
    assert obs["valueCodeableConcept"] == {"text": "Sometimes"}
