"""The review summary in plain words, and server issues mapped back to the fields they concern."""
from __future__ import annotations

from decimal import Decimal

import pytest

from smart_app.forms import FormState, LIBRARY_BASE, build_form, evaluate, find
from smart_app.forms.field_errors import attach_field_errors
from smart_app.forms.summary import SummaryRow, answer_text, summarize

from .conftest import UCUM, coding, item, options, questionnaire, run


@pytest.mark.parametrize("answer, text", [
    (("Boolean", True), "Yes"), (("Boolean", False), "No"), (("Coding", coding("a", "Apple")), "Apple"),
    (("Coding", {"code": "x"}), "x"), (("Decimal", Decimal("70.10")), "70.10"), (("Decimal", Decimal("1E+3")), "1000"),
    (("Quantity", {"value": Decimal("154.5"), "unit": "lb"}), "154.5 lb"), (("Integer", 3), "3"),
    (("Attachment", {"title": "scan.pdf"}), "File: scan.pdf"), (("Reference", {"reference": "Practitioner/1"}), "Practitioner/1"),
])
def test_answer_text(answer, text) -> None:
    assert answer_text(answer) == text


def test_summary_lists_enabled_answers_under_their_sections() -> None:
    form = build_form(find(LIBRARY_BASE + "previsit-intake"))
    state = FormState.from_post(form, {"q.reason.r": "cough", "q.allergy-check.r": "false", "q.allergy-details.r": "old text",
                                       "q.weight.0": "70.5", "u.weight.0": f"{UCUM}|kg"})
    assert summarize(evaluate(form, state)) == [
        SummaryRow("What is the main reason for your visit?", ("cough",), 0),
        SummaryRow("Have you had a new allergy or a reaction to a medicine since your last visit?", ("No",), 0),
        SummaryRow("Your measurements, if you know them", (), 0, True),
        SummaryRow("Weight", ("70.5 kg",), 1),
    ]


def test_summary_numbers_repeat_instances_and_drops_empty_ones() -> None:
    q = questionnaire(item("g", "group", text="Medicine", repeats=True, item=[item("n", "string", text="Name")]))
    _, _, view = run(q, {"n.g.r": "3", "q.n.0": "A", "q.n.2": "C"})
    assert summarize(view) == [SummaryRow("Medicine (1)", (), 0, True), SummaryRow("Name", ("A",), 1),
                               SummaryRow("Medicine (3)", (), 0, True), SummaryRow("Name", ("C",), 1)]


def _issue_form():
    q = questionnaire(item("a", "string"), item("g", "group", repeats=True, item=[
        item("x", "integer"), item("c", "choice", answerOption=options("k"), item=[item("why", "string")])]))
    return run(q, {"q.a.r": "hi", "n.g.r": "2", "q.x.0": "1", "q.x.1": "2", "q.c.1": "http://example.org/cs|k", "q.why.1": "because"})


def test_server_errors_show_next_to_the_field_they_name(render) -> None:
    _, _, view = _issue_form()
    attach_field_errors(view, {"a": ["The server did not accept this value."], "nowhere": ["Never shown."]})
    [node] = [n for n in view.nodes if n.item.link_id == "a"]
    assert node.errors == ["The server did not accept this value."]
    html = render(view)
    assert "The server did not accept this value." in html and "Never shown." not in html
