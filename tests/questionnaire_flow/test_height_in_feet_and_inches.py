"""Height typed in feet and inches on the intake form, through the app against the sandbox (no JavaScript):
converted to cm on the server, written in cm with its UCUM code, and kept as typed when it needs fixing."""
from __future__ import annotations

import re

from tests.fixtures.e2e import PATIENT
from tests.questionnaire_flow.flow import Browser, codes, intake_answers, stored

UCUM = "http://unitsofmeasure.org"


def _height(feet: str, inches: str) -> dict[str, str]:
    """The intake's height fields with "feet and inches" chosen (the cm field left empty)."""
    return {"q.height.0": "", "u.height.0": "ft-in", "f.height.0": feet, "i.height.0": inches}


def test_a_height_in_feet_and_inches_is_written_in_centimetres(e2e) -> None:
    browser = Browser(e2e.client, e2e.launcher.standalone(login=f"Patient/{PATIENT}"))
    page = browser.open_form("previsit-intake").get_data(as_text=True)
    assert '<option value="ft-in">feet and inches</option>' in page  # offered beside cm
    sid = browser.fill_and_send("previsit-intake", intake_answers() | _height("5", "10"))

    found = stored(e2e.sandbox, sid)
    (qr,) = found["QuestionnaireResponse"]
    (measurements,) = [i for i in qr["item"] if i["linkId"] == "measurements"]
    (height,) = [i for i in measurements["item"] if i["linkId"] == "height"]
    assert height["answer"] == [{"valueDecimal": 177.8}]
    (observation,) = [o for o in found["Observation"] if codes(o) == {"8302-2"}]
    assert observation["valueQuantity"] == {"value": 177.8, "unit": "cm", "system": UCUM, "code": "cm"}


def test_twelve_inches_is_refused_and_the_feet_and_inches_stay_as_typed(e2e) -> None:
    browser = Browser(e2e.client, e2e.launcher.standalone(login=f"Patient/{PATIENT}"))
    response = browser.post_form("previsit-intake", intake_answers() | _height("5", "12"))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Enter fewer than 12 inches, for example 7." in page
    assert re.search(r'name="f\.height\.0" value="5"', page) and re.search(r'name="i\.height\.0" value="12"', page)
    assert '<option value="ft-in" selected>' in page
    assert "[in_i]" not in page and "[ft_i]" not in page  # never a UCUM code


def test_a_height_outside_the_form_s_bounds_is_said_in_feet_and_inches_in_spanish_too(e2e) -> None:
    browser = Browser(e2e.client, e2e.launcher.standalone(login=f"Patient/{PATIENT}"))
    english = browser.post_form("previsit-intake", intake_answers() | _height("9", "0")).get_data(as_text=True)
    assert "Enter a height between 1 ft and 8 ft 11 in." in english
    e2e.client.set_cookie("previsit_lang", "es")
    spanish = browser.post_form("previsit-intake", intake_answers() | _height("9", "0")).get_data(as_text=True)
    assert "Escriba una estatura entre 1 pie y 8 pies 11 pulg." in spanish
    assert '<option value="ft-in" selected>pies y pulgadas</option>' in spanish


def test_a_saved_draft_shows_the_feet_and_inches_again(e2e) -> None:
    browser = Browser(e2e.client, e2e.launcher.standalone(login=f"Patient/{PATIENT}"))
    saved = browser.post_form("previsit-intake", intake_answers() | _height("5", "7.5"), action="continue")
    assert saved.status_code in (200, 303)
    page = browser.open_form("previsit-intake").get_data(as_text=True)
    assert re.search(r'name="f\.height\.0" value="5"', page) and re.search(r'name="i\.height\.0" value="7.5"', page)
    assert '<option value="ft-in" selected>' in page


def test_the_rescue_copy_taken_before_the_ehr_is_asked_keeps_the_feet_and_inches(e2e) -> None:
    from smart_app.delivery.drafts import RESCUE_NAMESPACE
    from smart_app.launch.runtime import EXTENSION

    store = e2e.app.extensions[EXTENSION].store
    kept: list[str] = []
    real_put = store.put

    def put(namespace, key, value, ttl):
        """Record what each rescue copy holds, then store it as usual."""
        if namespace == RESCUE_NAMESPACE:
            kept.append(repr(value))
        return real_put(namespace, key, value, ttl)

    store.put = put
    try:
        browser = Browser(e2e.client, e2e.launcher.standalone(login=f"Patient/{PATIENT}"))
        browser.post_form("previsit-intake", intake_answers() | _height("5", "7"), action="continue")
    finally:
        store.put = real_put
    assert kept and all("f.height.0" in copy and "i.height.0" in copy for copy in kept)
