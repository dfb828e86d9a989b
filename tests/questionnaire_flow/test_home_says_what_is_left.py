"""The home page says what is left and roughly how long it takes, from the forms' item counts."""
from __future__ import annotations

import re

from smart_app.forms import LIBRARY_BASE, build_form, find
from smart_app.forms.effort import minutes, seconds_left
from tests.fixtures.e2e import PATIENT
from tests.questionnaire_flow.flow import Browser, phq9_answers

BUNDLED = ("phq-9", "gad-7", "previsit-intake")


def _left(html: str) -> str:
    """The 'what is left' line of the home page."""
    match = re.search(r'<p class="what-is-left">([^<]*)</p>', html)
    assert match, "the home page has no 'what is left' line"
    return match.group(1)


def test_the_home_page_counts_forms_and_minutes_left_and_answers_shorten_it(e2e):
    browser = Browser(e2e.client, e2e.launcher.standalone(login=f"Patient/{PATIENT}"))
    forms = [build_form(find(LIBRARY_BASE + slug)) for slug in BUNDLED]
    expected = minutes(sum(seconds_left(f) for f in forms))
    assert _left(browser.get("").get_data(as_text=True)) == f"3 forms left, about {expected} minutes"

    browser.post_form("phq-9", phq9_answers([0] * 9), action="continue")  # a draft with every item answered
    fewer = minutes(sum(seconds_left(f) for f in forms[1:]))
    assert _left(browser.get("").get_data(as_text=True)) == f"3 forms left, about {fewer} minutes"
