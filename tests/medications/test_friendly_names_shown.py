"""Patients see the friendly medicine name; the record's name stays as secondary text."""
from __future__ import annotations

import re
from pathlib import Path

import jinja2
from markupsafe import Markup

from smart_app.medications import past_rows, review_rows
from tests.medications.builders import request, rx_concept, statement

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
INHALER = "120 ACTUAT fluticasone propionate 0.044 MG/ACTUAT Metered Dose Inhaler"
PACK = "{21 (drospirenone 3 MG / Ethinyl Estradiol 0.03 MG Oral Tablet) / 7 (Inert Ingredients 1 MG Oral Tablet) } Pack [Yasmin 28 Day]"


def render(resources: list[dict]) -> str:
    """The review form partial for these records, in a bare autoescaping environment."""
    env = english_env(jinja2.Environment(autoescape=True, loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined, extensions=["jinja2.ext.i18n"]))
    return env.get_template("medications/_review_form.html").render(
        rows=review_rows(resources), past_rows=past_rows(resources), action_url="/l/abc/medications",
        csrf_field=Markup('<input type="hidden" name="csrf_token" value="tok">'))


def test_a_recognised_name_leads_and_the_record_name_waits_in_a_closed_disclosure() -> None:
    html = render([request("r1", {"medicationCodeableConcept": rx_concept("895994", INHALER)})])
    assert '<legend class="med-name">Fluticasone inhaler (44 micrograms per puff)</legend>' in html
    assert 'aria-label="Are you taking Fluticasone inhaler (44 micrograms per puff)?"' in html
    assert (f'<details class="med-record-name"><summary>Name in your record</summary><p>{INHALER}</p></details>'
            in html)
    assert html.count(INHALER) == 1  # nowhere but in the disclosure
    assert "<details open" not in html


def test_an_unsure_name_shows_the_record_name_in_full() -> None:
    html = render([request("r1", {"medicationCodeableConcept": rx_concept("749762", PACK)})])
    assert '<legend class="med-name">Yasmin 28 Day pack</legend>' in html
    assert f'<p class="med-record-name">Name in your record: {PACK}</p>' in html
    assert "<details" not in html


def test_a_name_the_parser_leaves_alone_is_shown_once() -> None:
    html = render([request("r1", {"medicationCodeableConcept": rx_concept("1", "Lisinopril 20mg")})])
    assert '<legend class="med-name">Lisinopril 20mg</legend>' in html
    assert "med-record-name" not in html


def test_past_medicines_use_the_friendly_name_too() -> None:
    stopped = statement("s1", {"medicationCodeableConcept": rx_concept("860975", "metformin hydrochloride 500 MG Oral Tablet")},
                        status="stopped")
    html = render([stopped])
    past = re.search(r'<section class="med-past".*?</section>', html, re.S)
    assert past is not None
    assert '<span class="med-name">Metformin 500 mg tablet</span>: Stopped' in past.group(0)
    assert "<p>metformin hydrochloride 500 MG Oral Tablet</p></details>" in past.group(0)


def english_env(env: jinja2.Environment) -> jinja2.Environment:
    """English gettext as Flask-Babel installs it (newstyle), and the app's date and number filters."""
    from smart_app import i18n

    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(i18n.FILTERS)
    env.globals["say"] = i18n.say
    return env
