"""The 187-item health check on a 375 px phone: one section per page, nothing wider than the screen, axe-clean."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from smart_app.forms import FormState, build_form, evaluate
from smart_app.forms.paging import sections, step_view
from tests.fixtures.browser import PHONE, axe_audit

from .test_browser import _document

pytestmark = pytest.mark.browser
CORPUS = Path(__file__).resolve().parents[1] / "forms_corpus"


@pytest.mark.parametrize("step", [0, 2, 8])
def test_each_section_fits_a_phone_screen(new_context, render, step) -> None:
    form = build_form(json.loads((CORPUS / "aehrc-715-health-check.json").read_text(encoding="utf-8")))
    view = evaluate(form, FormState(), validate=False)
    page = new_context(viewport=PHONE).new_page()
    page.set_content(_document(render(view, paging=step_view(view, sections(form), step))))
    widths = page.evaluate("""() => ({
        page: document.documentElement.scrollWidth,
        widest: Math.max(...[...document.querySelectorAll('main *')].map(e => e.getBoundingClientRect().right)),
    })""")
    assert widths["page"] <= PHONE["width"], widths
    assert widths["widest"] <= PHONE["width"] + 0.5, widths
    # The list of sections is folded on a phone (23 entries) and opens without JavaScript.
    assert page.locator("nav.q-steps details").get_attribute("open") is None
    page.locator("nav.q-steps summary").click()
    assert page.locator("nav.q-steps li").count() == 23
    assert page.locator("nav.q-steps li[aria-current=step]").count() == 1
    axe_audit(page, f"health check step {step} at 375 px")
