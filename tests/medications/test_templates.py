"""The medication partials: accessible structure, no-JS follow-ups, draft restore, inert FHIR text."""
from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import jinja2
import pytest
from markupsafe import Markup

from smart_app.medications import (
    STATUS_LABELS,
    STOP_REASON_LABELS,
    Difference,
    ReviewMeta,
    clinician_diff,
    parse_review,
    past_rows,
    review_rows,
    to_questionnaire_response,
)
from tests.medications.builders import request, rx_concept, statement

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
PAYLOAD = '"><img src=x onerror=alert(1)><script>alert("x")</script>'
TEXTAREA_BREAKOUT = "</textarea><script>alert(2)</script>"


@pytest.fixture
def env():
    """A bare autoescaping environment, as the brief prescribes (no Flask, no filters)."""
    return english_env(jinja2.Environment(autoescape=True, loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined, extensions=["jinja2.ext.i18n"]))


class Tags(HTMLParser):
    """Collects start tags, their attributes, and text per legend."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.legends: list[str] = []
        self._in_legend = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "legend":
            self._in_legend += 1
            self.legends.append("")

    def handle_endtag(self, tag):
        if tag == "legend":
            self._in_legend -= 1

    def handle_data(self, data):
        if self._in_legend:
            self.legends[-1] += data


def parse(html: str) -> Tags:
    parser = Tags()
    parser.feed(html)
    return parser


def hostile_rows():
    return review_rows([
        request("r1", {"medicationCodeableConcept": rx_concept("1", PAYLOAD)},
                dosageInstruction=[{"text": TEXTAREA_BREAKOUT}],
                requester={"display": PAYLOAD}, reasonCode=[{"text": PAYLOAD}]),
        statement("s2", {"medicationReference": {"reference": "Medication/missing", "display": "<b>bold</b> pill"}}),
    ])


def render_form(env, **context):
    base = {"rows": review_rows([request("r1", {"medicationCodeableConcept": rx_concept("314076", "Lisinopril 10 MG Oral Tablet")})]),
            "action_url": "/l/abc/medications", "csrf_field": Markup('<input type="hidden" name="csrf_token" value="tok">')}
    base.update(context)
    return env.get_template("medications/_review_form.html").render(**base)


def assert_inert(html: str) -> None:
    tags = parse(html)
    assert not [t for t, _ in tags.tags if t in ("script", "img", "b")]
    assert not [(t, a) for t, attrs in tags.tags for a in attrs if a.startswith("on")]


def test_hostile_medicine_text_is_inert_in_the_form(env):
    html = render_form(env, rows=hostile_rows(), values={"med.rx-r1.how": TEXTAREA_BREAKOUT, "add.0.name": PAYLOAD},
                       errors={"med.rx-r1.how": "Tell us how you take it differently."})
    assert_inert(html)
    assert "&lt;script&gt;" in html
    assert "&lt;/textarea&gt;&lt;script&gt;" in html


def test_each_row_is_a_fieldset_whose_legend_names_the_medicine(env):
    rows = hostile_rows()
    tags = parse(render_form(env, rows=rows))
    row_fieldsets = [a for t, a in tags.tags if t == "fieldset" and "med-row" in (a.get("class") or "")]
    assert [a["id"] for a in row_fieldsets] == [f"med-{r.key}-row" for r in rows]
    for row in rows:
        assert row.name in tags.legends
        assert f"If not taking {row.name}: why not?" in tags.legends


def test_every_answer_is_a_radio_with_a_label(env):
    tags = parse(render_form(env))
    radios = [a for t, a in tags.tags if t == "input" and a.get("type") == "radio"]
    assert [(a["name"], a["value"]) for a in radios] == (
        [("med.rx-r1.status", code) for code in STATUS_LABELS] + [("med.rx-r1.why", code) for code in STOP_REASON_LABELS]
    )
    label_targets = {a["for"] for t, a in tags.tags if t == "label"}
    assert {a["id"] for a in radios} <= label_targets


def test_template_wording_matches_the_python_labels(env):
    html = render_form(env)
    for label in [*STATUS_LABELS.values(), *STOP_REASON_LABELS.values()]:
        assert f">{label}</label>" in html


def test_follow_up_fields_are_always_there_with_clear_labels(env):
    html = render_form(env)
    tags = parse(html)
    names = {a.get("name") for _, a in tags.tags}
    assert {"med.rx-r1.how", "med.rx-r1.since", "med.rx-r1.why", "med.rx-r1.why_other", "med.rx-r1.side_effects"} <= names
    assert "If taking it differently: how do you take it?" in html
    assert "If not taking it: since when? (optional)" in html
    # Nothing is hidden behind script.
    assert not [a for _, a in tags.tags if "hidden" in a and a.get("type") != "hidden"]


def test_draft_values_are_restored(env):
    html = render_form(env, values={"med.rx-r1.status": "not-taking", "med.rx-r1.why": "cost", "med.rx-r1.since": "2026-01-02",
                                    "med.rx-r1.side_effects": "dizzy", "add.0.name": "Ibuprofen"})
    tags = parse(html)
    checked = {(a["name"], a["value"]) for t, a in tags.tags if t == "input" and "checked" in a}
    assert checked == {("med.rx-r1.status", "not-taking"), ("med.rx-r1.why", "cost")}
    since = next(a for t, a in tags.tags if a.get("name") == "med.rx-r1.since")
    assert since["value"] == "2026-01-02"
    assert ">dizzy</textarea>" in html
    assert next(a for t, a in tags.tags if a.get("name") == "add.0.name")["value"] == "Ibuprofen"


def test_form_posts_to_the_given_action_with_the_csrf_field(env):
    tags = parse(render_form(env))
    form = next(a for t, a in tags.tags if t == "form")
    assert (form["method"], form["action"]) == ("post", "/l/abc/medications")
    assert ("input", {"type": "hidden", "name": "csrf_token", "value": "tok"}) in tags.tags


def test_csrf_field_given_as_plain_text_is_escaped(env):
    html = render_form(env, csrf_field='<input type="hidden" name="csrf_token" value="tok">')
    assert not [a for t, a in parse(html).tags if a.get("name") == "csrf_token"]


def test_add_a_medicine_works_without_javascript(env):
    tags = parse(render_form(env, added_count=3))
    names = [a["name"] for t, a in tags.tags if t == "input" and a.get("name", "").startswith("add.") and a["name"] != "add.count"]
    assert names == [f"add.{i}.{part}" for i in range(3) for part in ("name", "dose", "often")]
    buttons = {(a["name"], a["value"]) for t, a in tags.tags if t == "button" and a.get("type") == "submit"}
    assert buttons == {("action", "add-medicine"), ("action", "all-as-prescribed"), ("action", "submit")}
    count = next(a for t, a in tags.tags if a.get("name") == "add.count")
    assert count == {"type": "hidden", "name": "add.count", "value": "3"}


def test_errors_are_listed_and_shown_at_their_fields(env):
    html = render_form(env, errors={"med.rx-r1.how": "Tell us how you take it differently.", "add.0.name": "Tell us the name of the medicine you added."})
    tags = parse(html)
    links = [a["href"] for t, a in tags.tags if t == "a"]
    assert links == ["#add-0-name", "#med-rx-r1-how"]
    ids = {a.get("id") for _, a in tags.tags}
    assert {"add-0-name", "med-rx-r1-how"} <= ids
    how = next(a for t, a in tags.tags if a.get("name") == "med.rx-r1.how")
    assert how["aria-invalid"] == "true" and how["aria-describedby"] == "med-rx-r1-how-error"


def test_read_only_review_says_so_up_front_and_cannot_be_sent(env):
    html = render_form(env, read_only_reason="Your record can be viewed but not updated from this app.")
    tags = parse(html)
    assert html.index("Your record can be viewed but not updated") < html.index("<form")
    assert not [a for t, a in tags.tags if t == "button"]
    fields = [a for t, a in tags.tags if t in ("input", "textarea") and a.get("type") != "hidden"]
    assert fields and all("disabled" in a for a in fields)


def test_past_rows_are_listed_apart(env):
    stopped = past_rows([statement("s1", {"medicationCodeableConcept": {"text": "Old <script>pill</script>"}}, status="stopped")])
    html = render_form(env, rows=[], past_rows=stopped)
    assert "There are no current medicines on your list." in html
    assert "Old &lt;script&gt;pill&lt;/script&gt;</span>: Stopped" in html
    assert_inert(html)


def test_unresolved_medicine_is_flagged(env):
    html = render_form(env, rows=hostile_rows())
    assert html.count("We could not find all the details of this medicine") == 1


def test_partials_do_not_extend_a_base_template():
    for name in ("_review_form.html", "_row.html", "_clinician_diff.html"):
        assert "extends" not in (TEMPLATES / "medications" / name).read_text()


def test_clinician_diff_is_highlighted_and_inert(env):
    diffs = [
        Difference("not-taking", PAYLOAD, "Reported not taking it (side effects)", side_effects=TEXTAREA_BREAKOUT),
        Difference("not-sure", "Fish oil", "Not sure whether they take it"),
        Difference("new-medicine", "Ibuprofen", f"Not on the list: {PAYLOAD}"),
    ]
    html = env.get_template("medications/_clinician_diff.html").render(differences=diffs, reviewed_at="2026-03-15T09:30:00Z",
                                                                         current_rows=hostile_rows())
    assert_inert(html)
    tags = parse(html)
    items = [a["class"] for t, a in tags.tags if t == "li" and "difference" in (a.get("class") or "")]
    assert items == ["difference diff-not-taking", "difference diff-not-sure", "difference diff-new-medicine"]
    assert html.count("<mark") == 3
    assert "<mark class=\"diff-label\">Not sure</mark>" in html


def test_clinician_diff_without_differences_says_so(env):
    html = env.get_template("medications/_clinician_diff.html").render(differences=[])
    assert "The patient reported no differences from the current list." in html


def test_row_context_shows_prescriber_start_reason_and_both_sources(env):
    rows = review_rows([
        request("r1", {"medicationCodeableConcept": rx_concept("314076", "Lisinopril 10 MG Oral Tablet")}, authoredOn="2023-05-01",
                requester={"display": "Dr. Ada"}, reasonCode=[{"text": "High blood pressure"}],
                dosageInstruction=[{"text": "1 tablet by mouth daily"}]),
        statement("s1", {"medicationCodeableConcept": rx_concept("314076", "lisinopril")}, dosage=[{"text": "one a day"}]),
    ])
    html = render_form(env, rows=rows)
    assert '<dd><time datetime="2023-05-01">1 May 2023</time></dd>' in html
    assert "<dd>Dr. Ada</dd>" in html
    assert "<dd>High blood pressure</dd>" in html
    assert "<dd>1 tablet by mouth daily</dd>" in html
    assert "<dd>Prescription; Your medication list (one a day)</dd>" in html


class WhyNot(HTMLParser):
    """The start tags inside each why-not fieldset, and the text of labels by their `for`."""

    def __init__(self) -> None:
        super().__init__()
        self.inside: list[tuple[str, dict[str, str | None]]] = []
        self.labels: dict[str, str] = {}
        self._depth = 0
        self._label: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "fieldset" and "why-not" in (attrs.get("class") or ""):
            self._depth = 1
        elif self._depth:
            self._depth += tag == "fieldset"
            self.inside.append((tag, attrs))
        if tag == "label":
            self._label = attrs["for"]
            self.labels[self._label] = ""

    def handle_endtag(self, tag):
        if tag == "fieldset" and self._depth:
            self._depth -= 1
        if tag == "label":
            self._label = None

    def handle_data(self, data):
        if self._label:
            self.labels[self._label] += data


def why_not_parts(html: str) -> WhyNot:
    parser = WhyNot()
    parser.feed(html)
    return parser


def test_other_reason_words_have_a_labelled_text_box_inside_the_why_not_fieldset(env):
    parts = why_not_parts(render_form(env))
    box = next(a for t, a in parts.inside if a.get("name") == "med.rx-r1.why_other")
    assert (box["type"], box["id"], box["maxlength"]) == ("text", "med-rx-r1-why_other", "500")
    assert parts.labels["med-rx-r1-why_other"] == "If another reason: what is it? (optional)"
    # Shown without JS; the script hides it unless the reason chosen is "other".
    holder = next(a for t, a in parts.inside if t == "div" and "data-applies-to-reason" in a)
    assert holder["data-applies-to-reason"] == "other" and "hidden" not in holder
    assert "aria-invalid" not in box and "aria-describedby" not in box


def test_other_reason_words_are_restored_from_a_draft(env):
    html = render_form(env, values={"med.rx-r1.status": "not-taking", "med.rx-r1.why": "other", "med.rx-r1.why_other": "ran out"})
    box = next(a for t, a in parse(html).tags if a.get("name") == "med.rx-r1.why_other")
    assert box["value"] == "ran out"


def test_over_long_other_reason_keeps_the_words_with_the_message_at_the_field(env):
    typed = "o" * 501
    message = "Keep your other reason to 500 characters or fewer."
    html = render_form(env, values={"med.rx-r1.status": "not-taking", "med.rx-r1.why": "other", "med.rx-r1.why_other": typed},
                       errors={"med.rx-r1.why_other": message})
    parts = why_not_parts(html)
    box = next(a for t, a in parts.inside if a.get("name") == "med.rx-r1.why_other")
    assert box["value"] == typed
    assert box["aria-invalid"] == "true" and box["aria-describedby"] == "med-rx-r1-why_other-error"
    assert ("p", {"class": "error", "id": "med-rx-r1-why_other-error"}) in parts.inside
    assert f'<p class="error" id="med-rx-r1-why_other-error">{message}</p>' in html
    # The summary at the top links to the box.
    assert ("a", {"href": "#med-rx-r1-why_other"}) in parse(html).tags


def test_hostile_other_reason_words_are_inert_in_the_form_and_for_the_clinician(env):
    values = {"med.rx-r1.status": "not-taking", "med.rx-r1.why": "other", "med.rx-r1.why_other": PAYLOAD}
    html = render_form(env, values=values, errors={"med.rx-r1.why_other": "Keep your other reason to 500 characters or fewer."})
    assert_inert(html)
    assert next(a for t, a in parse(html).tags if a.get("name") == "med.rx-r1.why_other")["value"] == PAYLOAD

    rows = review_rows([request("r1", {"medicationCodeableConcept": rx_concept("314076", "Lisinopril 10 MG Oral Tablet")})])
    review, errors = parse_review(rows, values)
    assert errors == {}
    diffs = clinician_diff(rows, to_questionnaire_response(review, ReviewMeta(subject="Patient/p1", authored="2026-03-15")))
    page = env.get_template("medications/_clinician_diff.html").render(differences=diffs)
    assert_inert(page)
    assert "(other reason: &#34;&gt;&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;" in page


def english_env(env: jinja2.Environment) -> jinja2.Environment:
    """English gettext as Flask-Babel installs it (newstyle), and the app's date and number filters."""
    from smart_app import i18n

    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(i18n.FILTERS)
    env.globals["say"] = i18n.say
    return env
