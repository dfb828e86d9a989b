"""In a real browser: live enablement without a round trip, and an axe audit of rendered forms."""
from __future__ import annotations

from pathlib import Path

import pytest

from smart_app.forms import FormState, LIBRARY_BASE, build_form, evaluate, find
from tests.fixtures.browser import axe_audit

from .conftest import item, questionnaire, run

pytestmark = pytest.mark.browser
SCRIPT = Path(__file__).resolve().parents[2] / "static" / "questionnaire.js"
STATIC = Path(__file__).resolve().parents[2] / "static"


def _document(body: str) -> str:
    """A whole page around a rendered partial, with the app's and the form's stylesheets and a page heading."""
    css = "".join((STATIC / name).read_text(encoding="utf-8") for name in ("app.css", "questionnaire.css")
                  if (STATIC / name).exists())
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Form</title>'
            f"<style>{css}</style></head><body><main><h1>Form</h1>{body}</main></body></html>")


def test_script_shows_and_hides_dependent_items_live(page, render) -> None:
    q = questionnaire(
        item("smoker", "boolean"),
        item("per-day", "integer", enableWhen=[{"question": "smoker", "operator": "=", "answerBoolean": True}]),
        item("heavy", "display", text="Heavy smoker", enableWhen=[{"question": "per-day", "operator": ">", "answerInteger": 20}]),
    )
    _, _, view = run(q, {}, validate=False)
    page.set_content(_document(render(view)))
    page.add_script_tag(path=str(SCRIPT))
    per_day = page.locator("#" + view.node("per-day").id + "-item")
    heavy = page.locator("#" + view.node("heavy").id)
    assert per_day.is_hidden() and heavy.is_hidden()
    page.check("#" + view.node("smoker").id)  # "Yes"
    assert per_day.is_visible()
    page.fill("#" + view.node("per-day").id, "25")
    assert heavy.is_visible()
    page.check("#" + view.node("smoker").id + "-no")
    assert per_day.is_hidden() and heavy.is_hidden()  # the chain follows its hidden question


def test_visually_hidden_text_is_not_shown(page, render) -> None:
    from .conftest import UCUM
    q = questionnaire(item("w", "quantity", ext=[
        ("questionnaire-unitOption", "valueCoding", {"system": UCUM, "code": "kg", "display": "kg"}),
        ("questionnaire-unitOption", "valueCoding", {"system": UCUM, "code": "[lb_av]", "display": "lb"})]))
    _, _, view = run(q, {}, validate=False)
    page.set_content(_document(render(view)))
    unit_label = page.locator("label[for='" + view.node("w").id + "-unit']")
    box = unit_label.bounding_box()
    assert box is not None and box["width"] <= 1 and box["height"] <= 1


@pytest.mark.parametrize("slug", ["phq-9", "previsit-intake"])
def test_bundled_forms_pass_axe_with_errors_shown(page, render, slug) -> None:
    form = build_form(find(LIBRARY_BASE + slug))
    view = evaluate(form, FormState.from_post(form, {"q.reason.r": "x" * 3}))  # required errors included
    page.set_content(_document(render(view)))
    axe_audit(page, f"questionnaire {slug} with errors")


def test_every_item_type_passes_axe(page, render) -> None:
    from .test_rendering import ALL_TYPES
    _, _, view = run(ALL_TYPES, {"q.dec.0": "not a number"})
    page.set_content(_document(render(view)))
    axe_audit(page, "questionnaire with every item type")
