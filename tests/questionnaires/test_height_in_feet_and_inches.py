"""A height typed in feet and inches is converted on the server to the form's unit (cm), checked in
feet and inches at the form's bounds, kept as typed for the page, and written in cm."""
from __future__ import annotations

from decimal import Decimal

import pytest

from smart_app.forms import ExtractMeta, FormState, ResponseMeta, build_form, extract_observations, load_library
from smart_app.forms import to_questionnaire_response
from smart_app.forms.feet_inches import offers_feet_and_inches

from .conftest import UCUM, item, questionnaire, run

CM = ("questionnaire-unit", "valueCoding", {"system": UCUM, "code": "cm", "display": "cm"})
LOINC_HEIGHT = [{"system": "http://loinc.org", "code": "8302-2", "display": "Body height"}]
# As the bundled intake form asks it: a decimal in cm, 30 to 272, one decimal place.
HEIGHT = item("height", "decimal", "Height", code=LOINC_HEIGHT,
              ext=[CM, ("minValue", "valueDecimal", 30), ("maxValue", "valueDecimal", 272), ("maxDecimalPlaces", "valueInteger", 1)])
BETWEEN = "Enter a height between 1 ft and 8 ft 11 in."


def _height(feet: str, inches: str, **more: str):
    """The height item's answers and messages for feet and inches posted with the ft-in unit chosen."""
    fields = {"q.height.r": "", "u.height.r": "ft-in", "f.height.r": feet, "i.height.r": inches, **more}
    form, state, view = run(questionnaire(HEIGHT), fields)
    node = view.node("height")
    return node.answers, node.errors, state


@pytest.mark.parametrize(("feet", "inches", "cm"), [
    ("5", "10", "177.8"),
    ("5", "0", "152.4"),   # 0 in
    ("5", "", "152.4"),    # a blank inches field counts as 0
    ("5", "11", "180.3"),  # 11 in (180.34 rounded to the form's one decimal place)
    ("5", "11.5", "181.6"),  # decimal inches
    ("5", "7.25", "170.8"),
    ("1", "0", "30.5"),    # the lowest height the message names
    ("8", "11", "271.8"),  # the highest
    (" 6 ", " 2 ", "188.0"),
])
def test_feet_and_inches_become_centimetres(feet, inches, cm) -> None:
    answers, errors, _ = _height(feet, inches)
    assert errors == []
    assert answers == [("Decimal", Decimal(cm))]


@pytest.mark.parametrize(("feet", "inches", "message"), [
    ("5", "12", "Enter fewer than 12 inches, for example 7."),  # 12 in is refused, never silently carried
    ("4", "14", "Enter fewer than 12 inches, for example 7."),
    ("5.5", "", "Enter whole feet, for example 5, and the rest in inches."),
    ("five", "7", "Enter your height in numbers, for example 5 ft 7 in."),
    ("5", "-1", "Enter your height in numbers, for example 5 ft 7 in."),
    ("", "8", BETWEEN),   # a blank feet field counts as 0: 8 in is too short
    ("0", "11", BETWEEN),  # 27.9 cm, under 30
    ("9", "0", BETWEEN),  # 274.3 cm, over 272
    ("8", "11.5", BETWEEN),  # 273.1 cm
])
def test_a_height_that_is_not_one_gets_a_message_in_feet_and_inches(feet, inches, message) -> None:
    answers, errors, _ = _height(feet, inches)
    assert answers == []
    assert errors == [message]


def test_both_fields_blank_is_no_answer() -> None:
    answers, errors, state = _height("", "")
    assert answers == [] and errors == [] and state.raw("height", ()) == []


def test_the_typed_feet_and_inches_are_kept_for_the_page() -> None:
    _, _, state = _height("5", "12")
    assert state.raw("height", ()) == [{"feet": "5", "inches": "12", "unit": "ft-in"}]


def test_centimetres_still_work_and_win_when_chosen() -> None:
    fields = {"q.height.r": "170", "u.height.r": "http://unitsofmeasure.org|cm", "f.height.r": "5", "i.height.r": "7"}
    _, state, view = run(questionnaire(HEIGHT), fields)
    assert view.node("height").answers == [("Decimal", Decimal("170"))]


def test_feet_and_inches_typed_without_choosing_the_unit_are_not_lost() -> None:
    """Without JavaScript or :has(), every field shows: filled feet and inches with an empty cm field count."""
    fields = {"q.height.r": "", "u.height.r": "http://unitsofmeasure.org|cm", "f.height.r": "5", "i.height.r": "7"}
    _, _, view = run(questionnaire(HEIGHT), fields)
    assert view.node("height").answers == [("Decimal", Decimal("170.2"))]


def test_a_dict_of_lists_post_reads_the_same() -> None:
    form = build_form(questionnaire(HEIGHT))
    state = FormState.from_post(form, {"u.height.r": ["ft-in"], "f.height.r": ["5"], "i.height.r": ["10"]})
    assert state.raw("height", ()) == [{"feet": "5", "inches": "10", "unit": "ft-in"}]


def test_a_quantity_height_with_unit_options_answers_in_its_first_unit() -> None:
    raw = item("h", "quantity", "Body height", code=LOINC_HEIGHT,
               ext=[("questionnaire-unitOption", "valueCoding", {"system": UCUM, "code": "cm", "display": "cm"}),
                    ("questionnaire-unitOption", "valueCoding", {"system": UCUM, "code": "[in_i]", "display": "in"})])
    _, _, view = run(questionnaire(raw), {"q.h.r": "", "u.h.r": "ft-in", "f.h.r": "6", "i.h.r": "0"})
    assert view.node("h").answers == [("Quantity", {"value": Decimal("182.9"), "unit": "cm", "system": UCUM, "code": "cm"})]


@pytest.mark.parametrize(("raw", "offered"), [
    (HEIGHT, True),
    (item("len", "decimal", "Body length", code=LOINC_HEIGHT, ext=[CM]), True),  # by its LOINC code
    (item("waist", "decimal", "Waist", ext=[CM]), False),  # a length that is not a height
    (item("height", "decimal", "Height"), False),  # no unit: nothing to convert to
    (item("height-kg", "decimal", "Height", ext=[("questionnaire-unit", "valueCoding", {"system": UCUM, "code": "kg"})]), False),
    (item("height", "string", "Height"), False),
])
def test_only_a_height_measured_in_a_length_unit_offers_feet_and_inches(raw, offered) -> None:
    form = build_form(questionnaire(raw))
    assert offers_feet_and_inches(form.by_link_id[raw["linkId"]]) is offered


def test_the_intake_form_writes_the_converted_height_in_cm_with_its_ucum_code() -> None:
    (intake,) = [q for q in load_library() if q.get("id") == "previsit-intake"]
    form = build_form(intake)
    state = FormState.from_post(form, {"u.height.0": "ft-in", "f.height.0": "5", "i.height.0": "10"})
    qr = to_questionnaire_response(form, state, ResponseMeta(subject={"reference": "Patient/p"}))
    (height,) = [i for i in _walk(qr.get("item", [])) if i["linkId"] == "height"]
    assert height["answer"] == [{"valueDecimal": Decimal("177.8")}]
    (obs,) = [o for o in extract_observations(form, qr, ExtractMeta()) if o["code"]["coding"][0]["code"] == "8302-2"]
    assert obs["valueQuantity"] == {"value": Decimal("177.8"), "unit": "cm", "system": UCUM, "code": "cm"}


def _walk(items):
    """Every response item, nested ones included."""
    for entry in items:
        yield entry
        yield from _walk(entry.get("item", []))
        for answer in entry.get("answer", []):
            yield from _walk(answer.get("item", []))
