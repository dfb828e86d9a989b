"""Long and tabbed forms as steps: which items are sections, what a step renders, and that no answer is lost."""
from __future__ import annotations

import json
from pathlib import Path

from smart_app.forms import LIBRARY_BASE, FormState, build_form, evaluate, find
from smart_app.forms.paging import PAGED_QUESTIONS, sections, step_view

from .conftest import item, questionnaire, sdc_expression

CORPUS = Path(__file__).resolve().parents[1] / "forms_corpus"
TAB = ("questionnaire-itemControl", "valueCodeableConcept", {"coding": [{"code": "tab"}]})


def _health_check():
    """The MBS 715 health check: 187 items in 23 tabs."""
    return build_form(json.loads((CORPUS / "aehrc-715-health-check.json").read_text(encoding="utf-8")))


def test_tabs_are_the_sections_in_document_order():
    steps = sections(_health_check())
    assert len(steps) == 23
    assert [s.title for s in steps[:3]] == ["About the health check", "Consent", "Patient Details"]
    assert "age" in steps[0].link_ids  # the hidden age beside the tabs joins the first step
    assert sum(len(s.link_ids) for s in steps) == 187 - 1  # every item but the wrapping group, once


def test_a_short_form_stays_on_one_page():
    assert sections(build_form(find(LIBRARY_BASE + "phq-9"))) == ()
    short = questionnaire(item("a", "group", item=[item("a1", "string")]), item("b", "group", item=[item("b1", "string")]))
    assert sections(build_form(short)) == ()


def test_a_long_form_pages_by_its_top_level_groups():
    def group(name: str, n: int) -> dict:
        """A group of n string questions."""
        return item(name, "group", item=[item(f"{name}{i}", "string") for i in range(n)])
    half = PAGED_QUESTIONS // 2 + 1
    form = build_form(questionnaire(item("intro", "display"), group("a", half), group("b", half)))
    steps = sections(form)
    assert [[i.link_id for i in s.items] for s in steps] == [["intro", "a"], ["b"]]


def test_a_tab_inside_a_repeating_group_does_not_split_it():
    q = questionnaire(item("r", "group", repeats=True, item=[item("t", "group", ext=[TAB], item=[item("x", "string")])]))
    assert sections(build_form(q)) == ()


def test_posting_one_step_keeps_every_other_answer():
    form = _health_check()
    steps = sections(form)
    name_key = ("2f028ea2-1d0b-4ddb-b1aa-f44c46586e94", (0, 0))
    date_key = ("48d34fc9-f10e-4ddd-9aba-8948ce5bffb5", (0, 0))
    before = FormState(values={name_key: ["Ana"], date_key: ["2025-01-10"]})
    # Step 1 posts its own date (cleared) and, by tampering, a name from step 3: only step 1 changes.
    after = FormState.from_post(form, {"q.2f028ea2-1d0b-4ddb-b1aa-f44c46586e94.0_0": "Mallory"},
                                previous=before, scope=steps[0].link_ids)
    assert after.values == {name_key: ["Ana"]}


def test_a_step_renders_one_section_and_the_list_of_all(render):
    form = _health_check()
    steps = sections(form)
    view = evaluate(form, FormState(), validate=False)
    html = render(view, paging=step_view(view, steps, 2))
    assert "Section 3 of 23: Patient Details" in html
    assert html.count('value="goto:') == 23 + 2  # the list, "Previous section" and "Next section"
    assert 'name="step" value="2"' in html
    assert "Medicare number" in html and "Eligible for health check" not in html


def test_a_display_item_inside_a_calculated_item_is_shown(render):
    q = questionnaire(item("w", "decimal"), item("bmi", "decimal", readOnly=True, ext=[
        sdc_expression("sdc-questionnaire-calculatedExpression", "%resource.item.where(linkId='w').answer.value")],
        item=[item("bmi-note", "display", text="Calculated from your weight and height")]))
    form = build_form(q)
    view = evaluate(form, FormState.from_post(form, {"q.w.r": "70"}), validate=False)
    html = render(view)
    assert "q-calculated" in html and "Calculated from your weight and height" in html
