"""Every shipped rule fires at its threshold and stays quiet one step below, on our forms and an EHR's PHQ-9."""
from __future__ import annotations

import pytest

from tests.safety.responses import (fired, fired_ids, frequency, gad7_library, intake, library_form, phq9_library,
                                    public_form, response)

Q9 = "phq9-item9-self-harm"
PHQ9_TOTAL = "phq9-total-severe"
GAD7_TOTAL = "gad7-total-severe"
BP = "bp-hypertensive-crisis"


@pytest.mark.parametrize("q9, fires", [(0, False), (1, True), (2, True), (3, True)])
def test_phq9_question_9_fires_on_any_answer_above_not_at_all(q9, fires):
    form = library_form("phq-9")
    assert (Q9 in fired_ids(form, phq9_library([0] * 8 + [q9]))) is fires


def test_phq9_question_9_says_which_question_and_which_answer():
    form = library_form("phq-9")
    [finding] = [f for f in fired(form, phq9_library([0] * 8 + [1])) if f.rule_id == Q9]
    [match] = finding.matches
    assert match.link_id == "phq9-q9"
    assert match.question == "9. Thoughts that you would be better off dead, or of hurting yourself in some way"
    assert match.answer == "Several days"


@pytest.mark.parametrize("points, fires", [
    ([3, 3, 3, 3, 3, 3, 2, 0, 0], True),   # 20: severe
    ([3, 3, 3, 3, 3, 3, 1, 0, 0], False),  # 19: moderately severe
    ([3] * 8 + [0], True),                 # 24, question 9 not answered positively
])
def test_phq9_total_fires_from_20(points, fires):
    form = library_form("phq-9")
    assert (PHQ9_TOTAL in fired_ids(form, phq9_library(points))) is fires


def test_phq9_total_is_the_computed_score_not_a_typed_total():
    form = library_form("phq-9")
    qr = phq9_library([0] * 9)
    qr["item"].append({"linkId": "phq9-total", "answer": [{"valueInteger": 27}]})  # a forged total
    assert PHQ9_TOTAL not in fired_ids(form, qr)


@pytest.mark.parametrize("points, fires", [
    ([3, 3, 3, 3, 3, 0, 0], True),   # 15: severe
    ([3, 3, 3, 3, 2, 0, 0], False),  # 14: moderate
])
def test_gad7_total_fires_from_15(points, fires):
    form = library_form("gad-7")
    assert (GAD7_TOTAL in fired_ids(form, gad7_library(points))) is fires


@pytest.mark.parametrize("systolic, diastolic, fires", [
    (180, 80, True), (179, 119, False), (120, 120, True), (179, None, False), (None, 120, True),
    (200, 130, True), (None, None, False),
])
def test_intake_blood_pressure_fires_in_the_crisis_range(systolic, diastolic, fires):
    form = library_form("previsit-intake")
    assert (BP in fired_ids(form, intake(systolic, diastolic))) is fires


def test_blood_pressure_finding_names_each_number_over_the_line():
    form = library_form("previsit-intake")
    [finding] = fired(form, intake(185, 125))
    assert [(m.link_id, m.answer) for m in finding.matches] == [("bp-systolic", "185"), ("bp-diastolic", "125")]


def test_rules_do_not_cross_forms():
    # GAD-7 answers never trigger PHQ-9 rules, and the other way round.
    assert fired_ids(library_form("gad-7"), gad7_library([3] * 7)) == {GAD7_TOTAL}
    assert fired_ids(library_form("phq-9"), phq9_library([1] * 9)) == {Q9}


# An EHR-hosted PHQ-9 (HL7 PCO IG): other canonical, numeric linkIds, LOINC item codes, no ordinalValue.
EHR_Q9_LINK_ID = "14371"


def ehr_phq9(q9: int) -> tuple:
    """The public PHQ-9 answered "not at all" except question 9."""
    form = public_form("pco-Questionnaire-PHQ9.json")
    items = [{"linkId": link, "answer": [frequency(q9 if link == EHR_Q9_LINK_ID else 0)]}
             for link in ("14363", "14364", "14365", "14366", "14367", "14368", "14369", "14370", "14371")]
    return form, response(form, items)


@pytest.mark.parametrize("q9, fires", [(0, False), (1, True), (3, True)])
def test_ehr_phq9_with_other_link_ids_fires_by_loinc_item_code(q9, fires):
    form, qr = ehr_phq9(q9)
    assert form.url == "http://hl7.org/fhir/us/pco/Questionnaire/44249-1"
    findings = [f for f in fired(form, qr) if f.rule_id == Q9]
    assert bool(findings) is fires
    if fires:
        assert findings[0].matches[0].link_id == EHR_Q9_LINK_ID


def test_ehr_phq9_with_ordinal_values_scores_its_total():
    # The same public form with the LOINC answer scores added as ordinalValue (as LHC-Forms exports do).
    form_json = public_form("pco-Questionnaire-PHQ9.json").questionnaire
    for item in form_json["item"]:
        for points, option in enumerate(item.get("answerOption") or []):
            if item["linkId"] != "57492":
                option["extension"] = [{"url": "http://hl7.org/fhir/StructureDefinition/ordinalValue", "valueDecimal": points}]
    from smart_app.forms import build_form
    form = build_form(form_json)
    links = ["14363", "14364", "14365", "14366", "14367", "14368", "14369", "14370", "14371"]

    def answered(points: list[int]) -> dict:
        return response(form, [{"linkId": link, "answer": [frequency(p)]} for link, p in zip(links, points)])

    assert PHQ9_TOTAL in fired_ids(form, answered([3, 3, 3, 3, 3, 3, 2, 0, 0]))
    assert PHQ9_TOTAL not in fired_ids(form, answered([3, 3, 3, 3, 3, 3, 1, 0, 0]))


def test_an_ehr_gad7_is_read_by_its_loinc_form_code_and_scored_when_it_carries_ordinals():
    # HL7 PCO GAD-7: other canonical, numeric linkIds; scores added as ordinalValue (0..3 in answer-list order).
    from smart_app.forms import build_form
    from smart_app.safety.evaluate import applies
    from smart_app.safety import shipped_rules
    form_json = public_form("pco-Questionnaire-GAD7.json").questionnaire
    questions = [i for i in form_json["item"] if i["type"] == "choice"][:7]
    for item in questions:
        for points, option in enumerate(item["answerOption"]):
            option["extension"] = [{"url": "http://hl7.org/fhir/StructureDefinition/ordinalValue", "valueDecimal": points}]
    form = build_form(form_json)
    assert applies(shipped_rules().by_id(GAD7_TOTAL), form, response(form, []))

    def answered(points: list[int]) -> dict:
        return response(form, [{"linkId": item["linkId"], "answer": [{"valueCoding": item["answerOption"][p]["valueCoding"]}]}
                               for item, p in zip(questions, points)])

    assert GAD7_TOTAL in fired_ids(form, answered([3, 3, 3, 3, 3, 0, 0]))
    assert GAD7_TOTAL not in fired_ids(form, answered([3, 3, 3, 3, 2, 0, 0]))
