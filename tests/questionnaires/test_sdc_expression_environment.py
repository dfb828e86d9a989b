"""The SDC expression environment on real corpus forms: variables in their item's context, launchContext
in any case, x-fhir-query on the launch's server only, failures visible and never blocking."""
from __future__ import annotations

import pytest

from smart_app.forms.queries import pin_to_patient, _split
from smart_app.forms import FillContext, FormState, build_form, evaluate, populate
from smart_app.forms.expressions import QueryRefused
from tests.forms_corpus.corpus import load

from .conftest import item, questionnaire, run, sdc_expression

PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1960-05-01"}


def test_group_variables_are_evaluated_in_their_group_instance_and_out_of_scope_ones_fail_visibly() -> None:
    form = build_form(load("lforms-variable-scope.json"))
    view = evaluate(form, FormState.from_post(form, {"q./groupA/fieldB.0": "3"}))
    assert view.node("/groupA/fieldC", (0,)).answers == [("Integer", 10)]  # X=3 (its group), Y=X+2, +4, +Z(1)
    assert list(view.failures) == ["/groupB/fieldD"]  # %Y is not visible outside group A
    assert view.node("/groupB/fieldD", (0,)).failed and view.valid


@pytest.mark.parametrize("name", ["smart-forms-cvd-risk.json", "smart-forms-cvd-risk-capitalised-launch-context.json"])
def test_launch_context_is_matched_whatever_its_case(name) -> None:
    form = build_form(load(name))
    prefill = populate(form, FillContext(resources={"patient": PATIENT}))
    gender = prefill.values.get(("gender", (0,)))
    assert gender and gender[0].endswith("|female")


def test_a_capitalised_launch_context_is_noted_for_the_forms_owner() -> None:
    form = build_form(load("smart-forms-cvd-risk-capitalised-launch-context.json"))
    assert ("", "launchContext 'Patient' is matched as 'patient'") in form.notes


def test_a_failing_calculated_expression_on_a_required_hidden_item_never_blocks_and_is_reported() -> None:
    q = questionnaire(item("pid", "string", required=True, ext=[
        ("questionnaire-hidden", "valueBoolean", True),
        sdc_expression("sdc-questionnaire-calculatedExpression", "%nosuch.id")]))
    _, _, view = run(q, {})
    assert view.valid and view.unfilled == ["pid"] and list(view.failures) == ["pid"]


def test_malformed_enable_when_affects_only_its_own_items() -> None:
    form = build_form(load("lforms-enablewhen-test.json"))
    degraded = {link_id for link_id, _ in form.notes}
    assert len(degraded) == 4 and len(form.by_link_id) == 85
    view = evaluate(form, FormState.initial(form), validate=False)
    assert all(view.node(link_id, (0,) * form.by_link_id[link_id].group_depth).enabled for link_id in degraded)


@pytest.mark.parametrize("query", [
    "https://elsewhere.example.org/fhir/Observation?code=x",
    "http://127.0.0.1:9999/fhir/Observation",
    "ValueSet/abc/$expand",
    "Observation?patient=someone-else",
    "Patient?_id=someone-else",
    "Basic?code=x",
])
def test_queries_for_other_hosts_patients_or_operations_are_refused(query) -> None:
    with pytest.raises(QueryRefused):
        resource_type, params = _split(query, "http://127.0.0.1:9090/fhir")
        pin_to_patient(resource_type, params, "p1")


def test_a_query_on_the_launch_server_is_pinned_to_the_launch_patient() -> None:
    resource_type, params = _split("http://127.0.0.1:9090/fhir/Observation?code=8302-2&_sort=-date", "http://127.0.0.1:9090/fhir")
    assert (resource_type, pin_to_patient(resource_type, params, "p1")) == (
        "Observation", [("code", "8302-2"), ("_sort", "-date"), ("patient", "p1")])


def test_x_fhir_query_initial_expression_substitutes_embedded_fhirpath_and_reads_the_bundle() -> None:
    seen = []

    def runner(query: str) -> dict:
        seen.append(query)
        return {"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Observation", "valueQuantity": {"value": 72}}}]}

    q = questionnaire(item("w", "decimal", ext=[("http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-initialExpression",
                                                 "valueExpression", {"language": "application/x-fhir-query",
                                                                     "expression": "Observation?code=29463-7&patient={{%patient.id}}"})]))
    q["item"][0]["extension"].append({"url": "http://hl7.org/fhir/StructureDefinition/variable", "valueExpression": {
        "name": "found", "language": "application/x-fhir-query", "expression": "Observation?patient={{%patient.id}}"}})
    form = build_form(q)
    ctx = FillContext(resources={"patient": PATIENT}, fhir_query=runner)
    populate(form, ctx)
    assert seen[-1] == "Observation?code=29463-7&patient=p1" and not ctx.failures
    assert populate(build_form(q), FillContext(resources={"patient": PATIENT})).values == {}  # no server: no query


def test_an_unfillable_required_item_is_recorded_as_absent_in_the_response() -> None:
    from smart_app.forms import ResponseMeta, to_questionnaire_response
    q = questionnaire(item("pid", "string", required=True, ext=[("questionnaire-hidden", "valueBoolean", True)]),
                      item("a", "string"))
    form, state, view = run(q, {"q.a.r": "x"})
    qr = to_questionnaire_response(form, state, ResponseMeta(), view=view)
    assert qr["item"][0] == {"linkId": "pid", "text": "pid", "extension": [
        {"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "unknown"}]}
    assert view.valid and view.unfilled == ["pid"]


def test_a_substituted_answer_cannot_add_query_parameters() -> None:
    seen = []
    q = questionnaire(item("name", "string"), item("who", "reference", extension=[{
        "url": "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-answerExpression",
        "valueExpression": {"language": "application/x-fhir-query",
                            "expression": "Practitioner?name={{%resource.item.where(linkId='name').answer.value}}"}}]))
    form = build_form(q)
    evaluate(form, FormState.from_post(form, {"q.name.r": "x&_include=*"}),
             FillContext(fhir_query=lambda query: seen.append(query) or {"resourceType": "Bundle"}))
    assert seen == ["Practitioner?name=x%26_include%3D%2A"]
    resource_type, params = _split(seen[0], "http://127.0.0.1:9090/fhir")
    assert params == [("name", "x&_include=*")]
