"""answerExpression and candidateExpression give an item its options, per instance: from FHIRPath, or
from an x-fhir-query run on the launch's server (resources offered as References)."""
from __future__ import annotations

from smart_app.forms import FillContext, ResponseMeta, build_form, to_questionnaire_response

from .conftest import item, questionnaire, run

SDC = "http://hl7.org/fhir/uv/sdc/StructureDefinition/"


def expression(name: str, language: str, text: str) -> dict:
    """An SDC expression extension."""
    return {"url": SDC + name, "valueExpression": {"language": language, "expression": text}}


def test_answer_expression_in_fhirpath_lists_values_from_the_response() -> None:
    q = questionnaire(item("colour", "string"), item("pick", "choice", extension=[expression(
        "sdc-questionnaire-answerExpression", "text/fhirpath",
        "%resource.item.where(linkId='colour').answer.value")]))
    form, state, view = run(q, {"q.colour.r": "blue", "q.pick.r": "blue"})
    node = view.node("pick")
    assert [o.label for o in node.item.options] == ["blue"] and node.answers == [("String", "blue")]
    assert form.by_link_id["pick"].options == ()  # the shared form is never changed


def test_x_fhir_query_answer_expression_offers_the_servers_resources_as_references() -> None:
    seen = []

    def runner(query: str) -> dict:
        seen.append(query)
        return {"resourceType": "Bundle", "type": "searchset", "entry": [
            {"resource": {"resourceType": "Practitioner", "id": "dr1", "name": [{"given": ["Ada"], "family": "Lovelace"}]}},
            {"resource": {"resourceType": "Practitioner", "id": "dr2", "name": [{"text": "Dr Grace Hopper"}]}}]}

    q = questionnaire(item("gp", "reference", extension=[expression(
        "sdc-questionnaire-answerExpression", "application/x-fhir-query", "Practitioner?_count=10")]))
    form = build_form(q)
    from smart_app.forms import FormState, evaluate
    state = FormState.from_post(form, {"q.gp.r": "Practitioner/dr2"})
    view = evaluate(form, state, FillContext(fhir_query=runner))
    assert seen == ["Practitioner?_count=10"]
    assert [o.label for o in view.node("gp").item.options] == ["Ada Lovelace", "Dr Grace Hopper"]
    qr = to_questionnaire_response(form, state, ResponseMeta(), view=view)
    assert qr["item"][0]["answer"] == [{"valueReference": {"reference": "Practitioner/dr2", "display": "Dr Grace Hopper"}}]


def test_a_query_that_cannot_run_leaves_the_item_usable_and_is_recorded() -> None:
    q = questionnaire(item("gp", "reference", extension=[expression(
        "sdc-questionnaire-candidateExpression", "application/x-fhir-query", "Practitioner?name=x")]))
    form, state, view = run(q, {"q.gp.r": "Practitioner/7"})  # no server bound: the query is refused
    assert view.node("gp").answers == [("Reference", {"reference": "Practitioner/7"})]
    assert list(view.failures) == ["gp"]
