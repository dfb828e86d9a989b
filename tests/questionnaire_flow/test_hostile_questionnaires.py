"""Questionnaires from the EHR are untrusted: hostile text stays inert, oversized ones hit a clear limit."""
from __future__ import annotations

from tests.fixtures.e2e import PATIENT
from tests.questionnaire_flow.flow import Browser

PAYLOAD = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_hostile_titles_and_item_text_are_escaped_on_every_page(e2e):
    e2e.sandbox.store.create({
        "resourceType": "Questionnaire", "id": "hostile", "status": "active", "url": "http://example.org/q/hostile",
        "title": PAYLOAD,
        "item": [{"linkId": "a", "type": "string", "text": PAYLOAD, "required": True}],
    })
    browser = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT, questionnaire="Questionnaire/hostile"))
    for page in (browser.get(""), browser.get("questionnaires/"), browser.get("questionnaires/hostile")):
        html = page.get_data(as_text=True)
        assert page.status_code == 200
        assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert" in browser.get("questionnaires/").get_data(as_text=True)
    assert browser.post_form("hostile", {"q.a.r": PAYLOAD}).status_code == 303
    review, _ = browser.review("hostile")
    assert "<script>alert" not in review and "&lt;img src=x onerror=alert(1)&gt;" in review


def test_an_oversized_questionnaire_gets_a_plain_limit_page_not_a_crash(e2e):
    e2e.sandbox.store.create({
        "resourceType": "Questionnaire", "id": "huge", "status": "active", "url": "http://example.org/q/huge",
        "title": "Huge", "item": [{"linkId": f"i{n}", "type": "string", "text": "?"} for n in range(5001)],
    })
    browser = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT, questionnaire="Questionnaire/huge"))
    assert browser.get("questionnaires/").status_code == 200
    response = browser.get("questionnaires/huge")
    assert response.status_code == 400
    assert "items" in response.get_data(as_text=True).lower()
