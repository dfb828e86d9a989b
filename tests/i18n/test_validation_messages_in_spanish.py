"""A field's own validation messages (bounds with their unit, examples that fit, dates) are said in
the reader's language, with numbers in the reader's locale and units as words people know: on a
no-JS submit and through the live evaluate endpoint, against the real sandbox."""
from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest
from flask import Flask

from smart_app import i18n
from smart_app.forms import FillContext
from tests.fixtures.e2e import E2E
from tests.questionnaire_flow.flow import Browser, csrf, intake_answers
from tests.questionnaires.conftest import UCUM, item, questionnaire, run

SPANISH_PATIENT = "pat-dev"  # prefers es-US (sandbox/seed.py)
KG = {"system": UCUM, "code": "kg", "display": "kg"}
LB_WITHOUT_DISPLAY = {"system": UCUM, "code": "[lb_av]"}  # a form that names pounds only by their UCUM code
WEIGHT = item("w", "quantity", ext=[("questionnaire-unitOption", "valueCoding", KG),
                                    ("questionnaire-unitOption", "valueCoding", LB_WITHOUT_DISPLAY),
                                    ("minValue", "valueDecimal", 20), ("maxValue", "valueDecimal", 300)])
TODAY = dt.date(2026, 12, 3)


@pytest.fixture(scope="module")
def app() -> Flask:
    """A bare app with the app's language machinery (Flask-Babel, the catalogs, say()): enough to say texts."""
    bare = Flask("smart_app")  # its root holds translations/
    i18n.install(bare)
    return bare


def _said(app: Flask, raw_item: dict, fields: dict, language: str) -> list[str]:
    """The messages of one item for these fields, as a page in `language` says them."""
    _, _, view = run(questionnaire(raw_item), fields, context=FillContext(today=TODAY))
    with app.test_request_context("/", headers={"Accept-Language": language}):
        return [i18n.say(m) for m in view.node(raw_item["linkId"]).errors]


@pytest.mark.parametrize(("raw_item", "fields", "english", "spanish"), [
    (WEIGHT, {"q.w.r": "7000", "u.w.r": f"{UCUM}|kg"},
     "Enter a value between 20 and 300 kg.", "Escriba un valor entre 20 y 300 kg."),
    (WEIGHT, {"q.w.r": "700", "u.w.r": f"{UCUM}|[lb_av]"},
     "Enter a value between 20 and 300 kg (44.1 to 661.4 lb).", "Escriba un valor entre 20 y 300 kg (de 44,1 a 661,4 lb)."),
    (item("x", "decimal", ext=[("minValue", "valueDecimal", 35.5)]), {"q.x.r": "12"},
     "Enter a value of at least 35.5.", "Escriba un valor de al menos 35,5."),
    (item("x", "integer", ext=[("questionnaire-unit", "valueCoding", {"system": UCUM, "code": "mm[Hg]", "display": "mmHg"})]),
     {"q.x.r": "12O"}, "Use the number 0, not the letter O (for example 120).", "Use el número 0, no la letra O (por ejemplo 120)."),
    (item("x", "integer", ext=[("questionnaire-unit", "valueCoding", {"system": UCUM, "code": "mm[Hg]", "display": "mmHg"})]),
     {"q.x.r": "high"}, "Enter a whole number in mmHg, for example 120.", "Escriba un número entero en mmHg, por ejemplo 120."),
    (item("dob", "date", text="Your date of birth"), {"q.dob.r": "2099-01-01"},
     "A date of birth cannot be in the future.", "La fecha de nacimiento no puede ser futura."),
    (item("dob", "date", text="Your date of birth"), {"q.dob.r": "1890-01-01"},
     "Check the year: a date of birth should be after 1896.", "Revise el año: la fecha de nacimiento debe ser posterior a 1896."),
    (item("x", "date", ext=[("maxValue", "valueDate", "2026-01-20")]), {"q.x.r": "2026-02-01"},
     "Enter a date on or before 20 January 2026.", "Escriba una fecha igual o anterior al 20 de enero de 2026."),
    ({**item("x", "string"), "maxLength": 3}, {"q.x.r": "abcd"},
     "Enter at most 3 characters.", "Escriba como máximo 3 caracteres."),
    ({**item("x", "string"), "maxLength": 1}, {"q.x.r": "ab"}, "Enter at most 1 character.", "Escriba como máximo 1 carácter."),
])
def test_a_field_message_is_said_in_the_readers_language_with_its_numbers_and_units(
        app: Flask, raw_item, fields, english, spanish) -> None:
    assert _said(app, raw_item, fields, "en") == [english]
    assert _said(app, raw_item, fields, "es") == [spanish]


def test_a_unit_known_only_by_its_ucum_code_is_shown_as_a_word(app: Flask) -> None:
    said = " ".join(_said(app, WEIGHT, {"q.w.r": "700", "u.w.r": f"{UCUM}|[lb_av]"}, "en"))
    assert "lb" in said and "[lb_av]" not in said


def _spanish_browser(e2e: E2E) -> Browser:
    """A Spanish-speaking patient's launch (Patient.communication), with an English browser."""
    e2e.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return Browser(e2e.client, e2e.launcher.standalone(login=f"Patient/{SPANISH_PATIENT}"))


def _text(page: str) -> str:
    """The page's text, without tags."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", page)))


def test_a_no_js_submit_in_spanish_gets_spanish_messages(e2e: E2E) -> None:
    browser = _spanish_browser(e2e)
    fields = {**intake_answers(weight="7000", systolic="12O"), "q.birth-date.r": "2099-01-01"}
    response = browser.post_form("previsit-intake", fields)
    assert response.status_code == 422
    text = _text(response.get_data(as_text=True))
    assert "Escriba un valor entre 1 y 1.000 kg." in text
    assert "Use el número 0, no la letra O (por ejemplo 120)." in text
    assert "La fecha de nacimiento no puede ser futura." in text
    for english in ("Enter a value", "Use the number", "A date of birth cannot"):
        assert english not in text


def test_the_live_endpoint_in_spanish_sends_spanish_messages(e2e: E2E) -> None:
    browser = _spanish_browser(e2e)
    page = browser.open_form("previsit-intake").get_data(as_text=True)
    baseline = unescape(re.search(r'data-live-baseline="([^"]*)"', page).group(1))
    fields = {**intake_answers(weight="3000", systolic="12O"), "u.weight.0": f"{UCUM}|[lb_av]"}  # 1361 kg
    response = browser.client.post(browser.url("questionnaires/previsit-intake/evaluate"), data={
        **fields, "csrf_token": csrf(page), "live_baseline": baseline, "touched": ["q.weight.0", "q.bp-systolic.0_0"]})
    assert response.status_code == 200 and response.is_json
    errors = response.get_json()["errors"]
    said = [m for messages in errors.values() for m in messages]
    assert "Use el número 0, no la letra O (por ejemplo 120)." in said, errors
    assert "Escriba un valor entre 1 y 1.000 kg (de 2,2 a 2.204,6 lb)." in said, errors
