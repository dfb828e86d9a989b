"""Scored real forms, filled with hand-written answers: the written total is the computed one, in the
response and in the Observation, whatever was typed into the total field."""
from __future__ import annotations

from smart_app.forms.catalog import clear_form_cache
from tests.fixtures.e2e import PATIENT
from tests.forms_corpus.corpus import load
from tests.questionnaire_flow.flow import Browser, codes, stored

LOINC = "http://loinc.org"
PHQ = ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"]
PHQ_ITEMS = ["/44250-9", "/44255-8", "/44259-0", "/44254-1", "/44251-7", "/44258-2", "/44252-5", "/44253-3", "/44260-8"]
POINTS = [1, 2, 0, 3, 1, 0, 2, 1, 0]  # 10: moderate depression


def send(e2e, name: str, fields: dict[str, str], create: bool = True) -> tuple[dict, dict, list[dict]]:
    """Put the corpus form on the sandbox, fill and send it; (Questionnaire, response, Observations)."""
    resource = load(name)
    if create:
        e2e.sandbox.store.create(resource)
    clear_form_cache()
    browser = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT, questionnaire=f"Questionnaire/{resource['id']}"))
    found = stored(e2e.sandbox, browser.fill_and_send(resource["id"], fields))
    return resource, found["QuestionnaireResponse"][0], found["Observation"]


def answer_of(qr: dict, link_id: str) -> list[dict]:
    """The answers of one linkId anywhere in a response."""
    stack = list(qr.get("item") or [])
    while stack:
        node = stack.pop()
        if node.get("linkId") == link_id:
            return node.get("answer") or []
        stack.extend(node.get("item") or [])
    return []


def phq9_fields() -> dict[str, str]:
    """The hand-written PHQ-9 answers (total 10)."""
    return {f"q.{link}.r": f"{LOINC}|{PHQ[p]}" for link, p in zip(PHQ_ITEMS, POINTS)}


def test_us_core_phq9_writes_the_computed_total_not_the_typed_one(e2e) -> None:
    _, qr, observations = send(e2e, "us-core-phq-9-example.json", {**phq9_fields(), "q./44261-6.r": "72.5"})
    assert answer_of(qr, "/44261-6") == [{"valueDecimal": 10}]
    totals = [o for o in observations if codes(o) == {"44261-6"}]
    assert [o["valueQuantity"]["value"] for o in totals] == [10]
    assert totals[0]["interpretation"] == [{"text": "Moderate depression"}]


def test_lforms_phq9_without_url_scores_and_links_by_its_full_reference(e2e) -> None:
    resource, qr, observations = send(e2e, "lforms-phq9.json", phq9_fields())
    assert qr["questionnaire"] == f"{e2e.sandbox.fhir_base}/Questionnaire/{resource['id']}"
    assert answer_of(qr, "/44261-6") == [{"valueDecimal": 10}]
    assert [o["valueQuantity"]["value"] for o in observations if codes(o) == {"44261-6"}] == [10]


def test_us_core_audit_c_total_is_the_sum_of_its_scored_answers(e2e) -> None:
    fields = {"q./68517-2.r": "4", "q./68519-8.r": f"{LOINC}|LA18930-0", "q./68520-6.r": f"{LOINC}|LA18891-4",
              "q./75626-2.r": "12"}
    _, qr, observations = send(e2e, "us-core-AUDIT-C.json", fields)
    assert answer_of(qr, "/75626-2") == [{"valueDecimal": 5}]  # 2 + 3; the typed 12 is gone
    assert [o["valueQuantity"]["value"] for o in observations if codes(o) == {"75626-2"}] == [5]


def test_hunger_vital_sign_risk_comes_from_questionnaire_level_variables(e2e) -> None:
    # This form's options carry no system: the form value is "|code".
    fields = {"q./88122-7.r": "|LA28397-0", "q./88123-5.r": "|LA6729-3"}
    _, qr, _ = send(e2e, "lforms-app-hunger-vital-signs.json", fields)
    assert [a["valueCoding"]["code"] for a in answer_of(qr, "/88124-3")] == ["LA19952-3"]  # at risk
    fields = {"q./88122-7.r": "|LA28398-8", "q./88123-5.r": "|LA28398-8"}
    _, qr, _ = send(e2e, "lforms-app-hunger-vital-signs.json", fields, create=False)
    assert [a["valueCoding"]["code"] for a in answer_of(qr, "/88124-3")] == ["LA19983-8"]  # no risk


def test_an_uncoded_unscored_gad7_shows_no_score_and_writes_no_result(e2e) -> None:
    from smart_app.forms import build_form
    from tests.forms_corpus.corpus import generic_answers
    resource = load("researchkitonfhir-gad-7.json")
    e2e.sandbox.store.create(resource)
    clear_form_cache()
    browser = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT, questionnaire=f"Questionnaire/{resource['id']}"))
    assert browser.post_form(resource["id"], generic_answers(build_form(resource))).status_code == 303
    review, _ = browser.review(resource["id"])
    assert "Score:" not in review
    found = stored(e2e.sandbox, browser.fill_and_send(resource["id"], generic_answers(build_form(resource))))
    assert found["Observation"] == []


def test_a_stored_response_to_an_unscored_form_with_ordinals_has_no_score() -> None:
    from smart_app.forms.catalog import response_score
    from smart_app.forms import build_form
    form = build_form(load("researchkitonfhir-gad-7.json"))  # ordinals on its options, but no score item or code
    scored = [i for i in form.walk() if i.ordinals]
    response = {"resourceType": "QuestionnaireResponse", "item": [
        {"linkId": i.link_id, "answer": [{"valueCoding": i.options[-1].value}]} for i in scored]}
    assert scored and response_score(form, response) is None
