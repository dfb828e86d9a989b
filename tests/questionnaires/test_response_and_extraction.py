"""QuestionnaireResponse building and SDC observation-based extraction, checked field by field."""
from __future__ import annotations

from decimal import Decimal

import pytest

from smart_app.forms import (
    DERIVED_FROM_PLACEHOLDER, ExtractMeta, FormState, LIBRARY_BASE, ResponseMeta, build_form, dumps, evaluate,
    extract_observations, find, loads, to_questionnaire_response,
)
from smart_app.forms.model import SDC

from .conftest import LOINC, UCUM, coding, item, options, questionnaire, run

META = ResponseMeta(subject={"reference": "Patient/p1"}, encounter={"reference": "Encounter/e1"},
                    author={"reference": "Practitioner/d1"}, source={"reference": "Patient/p1"},
                    authored="2026-11-22T09:00:00+01:00", identifier={"system": "urn:ietf:rfc:3986", "value": "urn:uuid:1"})
EXTRACT = ExtractMeta(subject={"reference": "Patient/p1"}, encounter={"reference": "Encounter/e1"},
                      effective="2026-11-22T09:00:00+01:00", performer=({"reference": "Patient/p1"},))
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"


def test_response_cites_canonical_with_version_and_meta() -> None:
    form, state, view = run(questionnaire(item("a", "string")), {"q.a.r": "hi"})
    qr = to_questionnaire_response(form, state, META, view=view)
    assert qr == {
        "resourceType": "QuestionnaireResponse", "identifier": {"system": "urn:ietf:rfc:3986", "value": "urn:uuid:1"},
        "questionnaire": "http://example.org/Q/test|2", "status": "completed",
        "subject": {"reference": "Patient/p1"}, "encounter": {"reference": "Encounter/e1"},
        "authored": "2026-11-22T09:00:00+01:00", "author": {"reference": "Practitioner/d1"},
        "source": {"reference": "Patient/p1"},
        "item": [{"linkId": "a", "text": "a", "answer": [{"valueString": "hi"}]}],
    }


def test_response_nests_groups_and_repeats_and_drops_disabled_answers() -> None:
    q = questionnaire(
        item("gate", "boolean"),
        item("hidden-when-no", "string", enableWhen=[{"question": "gate", "operator": "=", "answerBoolean": True}]),
        item("people", "group", repeats=True, item=[
            item("name", "string"), item("tags", "choice", repeats=True, answerOption=options("x", "y")),
            item("inner", "group", item=[item("age", "integer")])]),
    )
    data = {"q.gate.r": "false", "q.hidden-when-no.r": "typed before changing my mind", "n.people.r": "2",
            "q.name.0": "Ann", "q.tags.0": ["http://example.org/cs|x", "http://example.org/cs|y"], "q.age.0_0": "40",
            "q.name.1": "Bob"}
    form, state, view = run(q, data)
    qr = to_questionnaire_response(form, state, ResponseMeta(status="in-progress"), view=view)
    assert qr["status"] == "in-progress"
    assert qr["item"] == [
        {"linkId": "gate", "text": "gate", "answer": [{"valueBoolean": False}]},
        {"linkId": "people", "text": "people", "item": [
            {"linkId": "name", "text": "name", "answer": [{"valueString": "Ann"}]},
            {"linkId": "tags", "text": "tags", "answer": [{"valueCoding": coding("x", "X")}, {"valueCoding": coding("y", "Y")}]},
            {"linkId": "inner", "text": "inner", "item": [{"linkId": "age", "text": "age", "answer": [{"valueInteger": 40}]}]}]},
        {"linkId": "people", "text": "people", "item": [{"linkId": "name", "text": "name", "answer": [{"valueString": "Bob"}]}]},
    ]
    # The typed text on the disabled item is kept in the state (a draft loses nothing).
    assert state.raw("hidden-when-no", ()) == ["typed before changing my mind"]


def test_decimals_survive_json_exactly() -> None:
    form, state, view = run(questionnaire(item("w", "decimal")), {"q.w.r": "70.10"})
    text = dumps(to_questionnaire_response(form, state, ResponseMeta(), view=view))
    assert '"valueDecimal":70.10' in text
    assert loads(text)["item"][0]["answer"][0]["valueDecimal"] == Decimal("70.10")


def test_unknown_status_is_refused() -> None:
    form, state, view = run(questionnaire(item("a", "string")), {})
    with pytest.raises(ValueError):
        to_questionnaire_response(form, state, ResponseMeta(status="done"), view=view)


def _intake(data: dict) -> tuple[dict, list[dict]]:
    form = build_form(find(LIBRARY_BASE + "previsit-intake"))
    base = {"q.reason.r": "check-up", "q.allergy-check.r": "false"}
    state = FormState.from_post(form, {**base, **data})
    view = evaluate(form, state)
    assert view.valid, view.errors
    qr = to_questionnaire_response(form, state, META, view=view)
    return qr, extract_observations(form, qr, EXTRACT)


def test_intake_extracts_weight_height_and_one_bp_panel() -> None:
    _, observations = _intake({"q.weight.0": "154.5", "u.weight.0": f"{UCUM}|[lb_av]", "q.height.0": "172.0",
                               "q.bp-systolic.0_0": "128", "q.bp-diastolic.0_0": "82"})
    by_code = {o["code"]["coding"][0]["code"]: o for o in observations}
    assert sorted(by_code) == ["29463-7", "8302-2", "85354-9"]
    for obs in observations:
        assert obs["status"] == "final"
        assert obs["category"] == [{"coding": [{"system": CATEGORY, "code": "vital-signs", "display": "Vital Signs"}]}]
        assert obs["subject"] == {"reference": "Patient/p1"} and obs["encounter"] == {"reference": "Encounter/e1"}
        assert obs["effectiveDateTime"] == "2026-11-22T09:00:00+01:00"
        assert obs["performer"] == [{"reference": "Patient/p1"}]
        assert obs["derivedFrom"] == [{"reference": DERIVED_FROM_PLACEHOLDER}]
    assert by_code["29463-7"]["valueQuantity"] == {"value": Decimal("154.5"), "unit": "lb", "system": UCUM, "code": "[lb_av]"}
    assert by_code["8302-2"]["valueQuantity"] == {"value": Decimal("172.0"), "unit": "cm", "system": UCUM, "code": "cm"}
    panel = by_code["85354-9"]
    assert "valueQuantity" not in panel
    assert [(c["code"]["coding"][0]["code"], c["valueQuantity"]) for c in panel["component"]] == [
        ("8480-6", {"value": Decimal("128"), "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"}),
        ("8462-4", {"value": Decimal("82"), "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"}),
    ]


def test_intake_without_measurements_extracts_nothing() -> None:
    qr, observations = _intake({})
    assert observations == []
    assert [i["linkId"] for i in qr["item"]] == ["reason", "allergy-check"]


def test_phq9_extracts_only_the_total_score() -> None:
    form = build_form(find(LIBRARY_BASE + "phq-9"))
    data = {f"q.phq9-q{i}.0": f"{LOINC}|LA6570-1" for i in range(1, 10)}  # 2 points each
    data["q.phq9-difficulty.r"] = f"{LOINC}|LA6573-5"
    state = FormState.from_post(form, data)
    qr = to_questionnaire_response(form, state, META)
    assert qr["questionnaire"] == LIBRARY_BASE + "phq-9|1.0.0"
    observations = extract_observations(form, qr, EXTRACT)
    assert len(observations) == 1
    total = observations[0]
    assert total["code"]["coding"][0] == {"system": LOINC, "code": "44261-6",
                                          "display": "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]"}
    assert total["category"][0]["coding"][0]["code"] == "survey"
    assert total["valueQuantity"] == {"value": Decimal(18), "unit": "{score}", "system": UCUM, "code": "{score}"}
    assert total["interpretation"] == [{"text": "Moderately severe depression"}]


def _extract_flags(root_flag, group_flag, child_flag) -> list[str]:
    def ext(flag):
        return [(SDC + "sdc-questionnaire-observationExtract", "valueBoolean", flag)] if flag is not None else []
    q = questionnaire(
        item("g", "group", ext=ext(group_flag), item=[
            item("a", "integer", code=[coding("A", system=LOINC)]),
            item("b", "string", code=[coding("B", system=LOINC)], ext=ext(child_flag))]),
        item("c", "boolean", code=[coding("C", system=LOINC)]),
        **({"extension": [{"url": SDC + "sdc-questionnaire-observationExtract", "valueBoolean": root_flag}]} if root_flag is not None else {}),
    )
    form, state, view = run(q, {"q.a.0": "1", "q.b.0": "x", "q.c.r": "true"})
    qr = to_questionnaire_response(form, state, ResponseMeta(), view=view)
    return [o["code"]["coding"][0]["code"] for o in extract_observations(form, qr, ExtractMeta())]


@pytest.mark.parametrize("root, group, child, codes", [
    (None, None, None, []),
    (True, None, None, ["A", "B", "C"]),
    (True, False, None, ["C"]),            # false on a group switches off its descendants
    (True, False, True, ["B", "C"]),       # ...unless a descendant switches itself back on
    (None, True, None, ["A", "B"]),
    (None, None, True, ["B"]),
    (False, None, None, []),
])
def test_observation_extract_inheritance(root, group, child, codes) -> None:
    assert _extract_flags(root, group, child) == codes


def test_extracted_values_by_type() -> None:
    flag = [(SDC + "sdc-questionnaire-observationExtract", "valueBoolean", True)]
    q = questionnaire(
        item("n", "integer", code=[coding("N", system=LOINC)], ext=flag),
        item("c", "choice", code=[coding("K", system=LOINC)], answerOption=options("x"), ext=flag),
        item("d", "date", code=[coding("D", system=LOINC)], ext=flag),
        item("s", "string", code=[coding("S", system=LOINC)], ext=flag),
        item("nocode", "string", ext=flag),
    )
    form, state, view = run(q, {"q.n.r": "3", "q.c.r": "http://example.org/cs|x", "q.d.r": "2024-01-02",
                                "q.s.r": "text", "q.nocode.r": "ignored"})
    qr = to_questionnaire_response(form, state, ResponseMeta(), view=view)
    values = [{k: v for k, v in o.items() if k.startswith("value")} for o in extract_observations(form, qr, ExtractMeta())]
    assert values == [{"valueInteger": 3}, {"valueCodeableConcept": {"coding": [coding("x", "X")], "text": "X"}},
                      {"valueDateTime": "2024-01-02"}, {"valueString": "text"}]


@pytest.mark.parametrize("value, text", [
    (Decimal("70.10"), "70.10"), (Decimal("-0.5"), "-0.5"), (Decimal("1E+3"), "1000"), (3, "3"), (70.1, "70.1"),
    (True, "true"), (None, "null"), ("a\"b<", '"a\\"b<"'),
])
def test_dumps_writes_exact_numbers(value, text) -> None:
    assert dumps({"v": [value]}) == '{"v":[' + text + "]}"


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), float("nan"), float("inf")])
def test_dumps_refuses_non_finite_numbers(value) -> None:
    with pytest.raises(ValueError):
        dumps({"v": value})
