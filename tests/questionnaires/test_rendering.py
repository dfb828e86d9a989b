"""Rendering: every R4 item type to labelled, accessible HTML that works without JavaScript."""
from __future__ import annotations

from html.parser import HTMLParser

import pytest

from smart_app.forms import FillContext, FormState, LIBRARY_BASE, build_form, evaluate, find, load_library, populate

from .conftest import UCUM, item, options, questionnaire, run

CONTROLS = {"input", "select", "textarea"}


class Page(HTMLParser):
    """Collects every start tag with its attributes, and the text of labels/legends."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.textareas: dict[str, str] = {}
        self._textarea: str | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "textarea":
            self._textarea = dict(attrs).get("name")
            self.textareas[self._textarea] = ""

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        self.text.append(data)
        if self._textarea:
            self.textareas[self._textarea] += data

    def find(self, tag: str | None = None, **attrs: str) -> list[dict]:
        """Tags matching name and exact attribute values."""
        return [a for t, a in self.tags if (tag is None or t == tag) and all(
            (k in a) if v is True else a.get(k) == v for k, v in attrs.items())]

    def ids(self) -> set[str]:
        return {a["id"] for _, a in self.tags if a.get("id")}


ALL_TYPES = questionnaire(
    item("grp", "group", text="A group", item=[
        item("dsp", "display", text="Some guidance"),
        item("b", "boolean", required=True), item("dec", "decimal"), item("int", "integer"),
        item("d", "date"), item("dt", "dateTime"), item("t", "time"), item("s", "string", maxLength=20),
        item("txt", "text"), item("u", "url"), item("ch", "choice", answerOption=options("a", "b")),
        item("oc", "open-choice", answerOption=options("a")), item("att", "attachment"),
        item("ref", "reference"), item("qty", "quantity", ext=[("questionnaire-unit", "valueCoding", {"system": UCUM, "code": "kg", "display": "kg"})]),
    ]),
)


def test_every_item_type_renders_a_labelled_control(render) -> None:
    _, _, view = run(ALL_TYPES, {})
    page = Page(render(view))
    labelled = {a.get("for") for a in page.find("label")}
    controls = [a for t, a in page.tags if t in CONTROLS and a.get("type") != "hidden"]
    assert controls
    for control in controls:
        assert control["id"] in labelled, control
    kinds = {link: page.find(id=view.node(link, (0,)).id)[0] for link in
             ("b", "dec", "int", "d", "dt", "t", "s", "txt", "u", "ch", "oc", "att", "ref", "qty")}
    assert kinds["b"]["type"] == "radio"
    assert kinds["dec"]["inputmode"] == "decimal" and kinds["int"]["inputmode"] == "numeric"
    assert (kinds["d"]["type"], kinds["dt"]["type"], kinds["t"]["type"]) == ("date", "datetime-local", "time")
    assert kinds["s"]["maxlength"] == "20" and kinds["u"]["type"] == "url"
    assert kinds["att"]["type"] == "file"
    assert kinds["ch"]["type"] == "radio"
    assert page.find("textarea", id=view.node("txt", (0,)).id)
    assert page.find("fieldset", id=view.node("grp").id) and "A group" in "".join(page.text)
    assert page.find("input", name="o.oc.0"), "open-choice offers an 'other' text box"
    assert page.find("form", method="post", action="/l/h/q", enctype="multipart/form-data")
    assert page.find("input", name="csrf_token")


def test_required_items_are_marked_visibly_and_for_assistive_technology(render) -> None:
    _, _, view = run(questionnaire(item("name", "string", required=True, prefix="1.")), {})
    html = render(view)
    page = Page(html)
    assert page.find("input", name="q.name.r")[0]["aria-required"] == "true"
    assert "(required)" in html and ">1.</span>" in html


def test_help_and_errors_are_linked_with_aria_describedby(render) -> None:
    help_item = item("h", "display", text="Count whole days",
                     extension=[{"url": "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl",
                                 "valueCodeableConcept": {"coding": [{"code": "help"}]}}])
    q = questionnaire(item("days", "integer", item=[help_item], ext=[("entryFormat", "valueString", "e.g. 3")]))
    _, _, view = run(q, {"q.days.r": "three"})
    page = Page(render(view))
    control = page.find("input", name="q.days.r")[0]
    described = control["aria-describedby"].split()
    assert described == [f"{control['id']}-help", f"{control['id']}-error"]
    assert set(described) <= page.ids()
    assert control["placeholder"] == "e.g. 3" and control["aria-invalid"] == "true"
    summary_links = [a["href"] for a in page.find("a")]
    assert summary_links == [f"#{control['id']}"]


@pytest.mark.parametrize("raw_item, expect", [
    (item("c", "choice", answerOption=options(*"abc")), "radio"),
    (item("c", "choice", answerOption=options(*"abcdefgh")), "select"),
    (item("c", "choice", answerOption=options(*"abcdefgh"), ext=[("questionnaire-itemControl", "valueCodeableConcept", {"coding": [{"code": "radio-button"}]})]), "radio"),
    (item("c", "choice", answerOption=options("a", "b"), ext=[("questionnaire-itemControl", "valueCodeableConcept", {"coding": [{"code": "drop-down"}]})]), "select"),
    (item("c", "choice", repeats=True, answerOption=options("a", "b")), "checkbox"),
])
def test_choice_control_by_count_and_item_control(render, raw_item, expect) -> None:
    _, _, view = run(questionnaire(raw_item), {})
    page = Page(render(view))
    if expect == "select":
        assert len(page.find("select", name="q.c.r")) == 1 and not page.find("input", name="q.c.r")
    else:
        assert {a["type"] for a in page.find("input", name="q.c.r")} == {expect}


def test_choice_orientation_horizontal(render) -> None:
    q = questionnaire(item("c", "choice", answerOption=options("a"), ext=[
        ("questionnaire-choiceOrientation", "valueCode", "horizontal")]))
    assert 'class="q-options q-horizontal"' in render(run(q, {})[2])


def test_value_sets_contained_expanded_or_degraded_to_free_text(render) -> None:
    contained = {"resourceType": "ValueSet", "id": "vs1", "compose": {"include": [
        {"system": "http://s", "concept": [{"code": "x", "display": "Ex"}, {"code": "y", "display": "Why"}]}]}}
    expanded = {"resourceType": "ValueSet", "id": "vs2", "expansion": {"contains": [{"system": "http://s", "code": "z", "display": "Zed"}]}}
    q = questionnaire(item("a", "choice", answerValueSet="#vs1"), item("b", "choice", answerValueSet="#vs2"),
                      item("c", "choice", answerValueSet="http://169.254.169.254/latest/meta-data"),
                      contained=[contained, expanded])
    form, _, view = run(q, {"q.c.r": "typed answer"})
    assert [o.label for o in form.by_link_id["a"].options] == ["Ex", "Why"]
    assert [o.token for o in form.by_link_id["b"].options] == ["http://s|z"]
    assert form.by_link_id["c"].options == ()
    # A `choice` answer is never a valueString (R4): the typed text is kept as a display-only Coding.
    assert view.node("c").answers == [("Coding", {"display": "typed answer"})]
    html = render(view)
    page = Page(html)
    assert page.find("input", type="text", name="q.c.r")
    assert "please type your answer" in html


def test_quantity_unit_options_and_repeating_group_buttons(render) -> None:
    q = questionnaire(item("g", "group", repeats=True, item=[item("w", "quantity", ext=[
        ("questionnaire-unitOption", "valueCoding", {"system": UCUM, "code": "kg", "display": "kg"}),
        ("questionnaire-unitOption", "valueCoding", {"system": UCUM, "code": "[lb_av]", "display": "lb"})])]))
    _, _, view = run(q, {"n.g.r": "2", "q.w.0": "70", "u.w.0": f"{UCUM}|kg", "q.w.1": "150", "u.w.1": f"{UCUM}|[lb_av]"})
    page = Page(render(view))
    assert [a["value"] for a in page.find("option", selected=True)] == [f"{UCUM}|kg", f"{UCUM}|[lb_av]"]
    buttons = {a["value"] for a in page.find("button", name="action")}
    assert {"add:q.g.r", "remove:q.g.r:0", "remove:q.g.r:1", "continue", "submit"} <= buttons
    assert page.find("input", type="hidden", name="n.g.r", value="2")


def test_disabled_items_stay_in_the_page_but_hidden(render) -> None:
    q = questionnaire(item("a", "boolean"), item("b", "string", enableWhen=[{"question": "a", "operator": "=", "answerBoolean": True}]))
    _, _, view = run(q, {"q.a.r": "false", "q.b.r": "kept"})
    page = Page(render(view))
    wrapper = page.find("div", id=view.node("b").id + "-item")[0]
    assert "hidden" in wrapper
    assert page.find("input", name="q.b.r", value="kept")


def test_from_your_record_mark(render) -> None:
    form = build_form(find(LIBRARY_BASE + "previsit-intake"))
    state = FormState.initial(form, populate(form, FillContext(resources={"patient": {"resourceType": "Patient", "id": "p", "birthDate": "1990-01-01"}})))
    html = render(evaluate(form, state, validate=False))
    assert "From your record. You can change it." in html
    assert 'value="1990-01-01"' in html
    assert "error-summary" not in html


def test_read_only_reason_disables_sending(render) -> None:
    _, _, view = run(questionnaire(item("a", "string")), {})
    page = Page(render(view, read_only_reason="Your access does not allow sending answers."))
    assert not page.find("button", name="action", value="submit")
    assert page.find("input", name="q.a.r", readonly=True)


def test_score_and_band_are_shown(render) -> None:
    form = build_form(find(LIBRARY_BASE + "gad-7"))
    data = {f"q.gad7-q{i}.0": "http://loinc.org|LA6571-9" for i in range(1, 8)}
    html = render(evaluate(form, FormState.from_post(form, data)))
    assert "<strong>21</strong> of 21 (Severe anxiety)" in html


@pytest.mark.parametrize("questionnaire_json", load_library(), ids=lambda q: q["id"])
def test_every_bundled_questionnaire_renders(render, questionnaire_json) -> None:
    form = build_form(questionnaire_json)
    page = Page(render(evaluate(form, FormState.initial(form), validate=False)))
    assert page.find("form") and page.find("button", value="submit")


def test_rendered_post_restores_the_same_state(render) -> None:
    """Round trip: the fields the page renders, posted back, reproduce the state (draft safety)."""
    form = build_form(find(LIBRARY_BASE + "previsit-intake"))
    data = {"q.reason.r": "cough", "q.symptoms.r": ["http://snomed.info/sct|49727002"], "o.symptoms.r": "itchy eyes",
            "q.allergy-check.r": "true", "q.allergy-details.r": "rash", "q.weight.0": "70.5", "u.weight.0": f"{UCUM}|kg",
            "q.height.0": "170", "q.bp-systolic.0_0": "120", "q.bp-diastolic.0_0": "80"}
    state = FormState.from_post(form, data)
    page = Page(render(evaluate(form, state)))
    posted: dict[str, list[str]] = {}
    for tag, attrs in page.tags:
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") not in ("radio", "checkbox") or (
                tag == "input" and name and "checked" in attrs):
            posted.setdefault(name, []).append(attrs.get("value") or "")
        if tag == "option" and "selected" in attrs:
            posted.setdefault("u.weight.0", []).append(attrs["value"])  # the page's only select
    posted.update({name: [text] for name, text in page.textareas.items()})
    assert FormState.from_post(form, posted).values == state.values


def test_reference_items_offer_supplied_candidates(render) -> None:
    from smart_app.forms import add_reference_candidates
    form = build_form(questionnaire(item("doc", "reference", ext=[("questionnaire-referenceResource", "valueCode", "Practitioner")])))
    add_reference_candidates(form, {"doc": [{"reference": "Practitioner/1", "display": "Dr <b>One</b>"},
                                            {"reference": "Practitioner/2", "display": "Dr Two"}]})
    state = FormState.from_post(form, {"q.doc.r": "Practitioner/2"})
    view = evaluate(form, state)
    assert view.node("doc").answers == [("Reference", {"reference": "Practitioner/2", "display": "Dr Two"})]
    html = render(view)
    page = Page(html)
    assert [a["value"] for a in page.find("input", type="radio", name="q.doc.r")] == ["Practitioner/1", "Practitioner/2"]
    assert "Dr &lt;b&gt;One&lt;/b&gt;" in html


def test_display_under_a_question_describes_it(render) -> None:
    q = questionnaire(item("n", "integer", item=[item("n-note", "display", text="Count whole days only")]))
    _, _, view = run(q, {})
    page = Page(render(view))
    control = page.find("input", name="q.n.r")[0]
    help_id = control["aria-describedby"]
    assert help_id in page.ids() and "Count whole days only" in "".join(page.text)


def test_answer_value_set_by_canonical_url_of_a_contained_value_set() -> None:
    vs = {"resourceType": "ValueSet", "id": "v", "url": "http://example.org/vs/colours",
          "expansion": {"contains": [{"system": "http://s", "code": "red", "display": "Red"}]}}
    form = build_form(questionnaire(item("c", "choice", answerValueSet="http://example.org/vs/colours|1"), contained=[vs]))
    assert [o.label for o in form.by_link_id["c"].options] == ["Red"]
