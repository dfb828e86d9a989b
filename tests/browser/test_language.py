"""A Spanish-speaking patient in a real browser at 375 px: the app opens in Spanish (Patient.communication),
forms and receipts are Spanish and axe-clean, the switch (plain links) turns every page English and is
remembered, and the browser reports its time zone."""
from __future__ import annotations

import re

import pytest

from tests.browser.actions import RECEIPT, open_portal_app, stored_responses
from tests.fixtures.browser import PHONE, BrowserStack, axe_audit, screenshot

pytestmark = pytest.mark.browser
PATIENT = "pat-dev"  # prefers es-US in the sandbox seed


def test_a_spanish_speaking_patient_answers_phq9_in_spanish_and_can_switch_to_english(
        browser_stack: BrowserStack, new_context) -> None:
    before = {qr["id"] for qr in stored_responses(browser_stack, PATIENT, "phq-9")}  # other tests may answer PHQ-9 too
    page = new_context(PHONE).new_page()
    open_portal_app(page, browser_stack, f"Patient/{PATIENT}")
    home = page.url
    assert page.locator("html").get_attribute("lang") == "es"
    assert page.get_by_text("Usted usa esta aplicación como el paciente").is_visible()
    axe_audit(page, "app home in Spanish, 375px")
    zone = page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone")
    assert f"previsit_tz={zone}" in page.evaluate("document.cookie"), "the browser reports its time zone"

    page.goto(home + "questionnaires/phq-9")
    assert page.get_by_role("heading", name="Cómo ha estado su estado de ánimo").is_visible()
    for number in range(1, 10):
        page.locator(f"fieldset.q-options:has(legend:has-text('{number}.'))").first.get_by_label("Ningún día", exact=True).check()
    axe_audit(page, "PHQ-9 in Spanish, 375px")
    screenshot(page, "phq9-es-375")
    page.get_by_role("button", name="Revisar mis respuestas").click()
    page.get_by_role("heading", name=re.compile("^Revise sus respuestas")).wait_for()
    axe_audit(page, "PHQ-9 review in Spanish, 375px")
    page.get_by_role("button", name="Enviar a mi equipo de atención").click()
    page.wait_for_url(RECEIPT)
    lead = page.get_by_role("status").filter(has_text="Enviado a su equipo de atención el")
    assert lead.is_visible() and "Lo verán antes de su consulta." in lead.inner_text()
    details = page.locator("details.receipt-details")
    assert details.count() == 1 and not details.evaluate("d => d.open"), "record details wait, closed"
    axe_audit(page, "receipt in Spanish, 375px")
    screenshot(page, "receipt-es-375")
    [response] = [qr for qr in stored_responses(browser_stack, PATIENT, "phq-9") if qr["id"] not in before]
    assert response["language"] == "es"

    # The switch comes back to this same receipt: wait for that navigation, not for a URL it already has.
    with page.expect_navigation(url=RECEIPT):
        page.get_by_role("navigation", name="Idioma").get_by_role("link", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("status").filter(has_text="Sent to your care team on").is_visible()
    axe_audit(page, "receipt in English after the switch, 375px")
    page.goto(home + "questionnaires/gad-7")
    assert page.get_by_text("Feeling nervous, anxious, or on edge").is_visible(), "the choice holds on the next page"
    with page.expect_navigation():
        page.get_by_role("navigation", name="Language").get_by_role("link", name="Español").click()
    assert page.get_by_text("Se ha sentido nervioso(a), ansioso(a) o con los nervios de punta").is_visible()
