"""Fixtures and builders for the questionnaire core tests: synthetic Questionnaires and a Jinja env."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
import pytest
from markupsafe import Markup

from smart_app.forms import FormState, build_form, evaluate
from smart_app.forms.model import EXT, SDC

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"


def questionnaire(*items: dict, **root: Any) -> dict:
    """A minimal R4 Questionnaire with these items."""
    return {"resourceType": "Questionnaire", "status": "active", "url": "http://example.org/Q/test",
            "version": "2", "item": list(items), **root}


def item(link_id: str, kind: str, text: str | None = None, **fields: Any) -> dict:
    """One item; `ext` is a list of (url suffix or full url, value[x] name, value) triples."""
    extensions = fields.pop("ext", [])
    raw = {"linkId": link_id, "type": kind, "text": text if text is not None else link_id, **fields}
    if extensions:
        raw["extension"] = [
            {"url": url if url.startswith("http") else EXT + url, key: value} for url, key, value in extensions
        ]
    return raw


def coding(code: str, display: str | None = None, system: str = "http://example.org/cs") -> dict:
    """A Coding dict."""
    return {"system": system, "code": code, **({"display": display} if display else {})}


def options(*codes: str) -> list[dict]:
    """answerOption list of example Codings."""
    return [{"valueCoding": coding(c, c.upper())} for c in codes]


def sdc_expression(name: str, expression: str) -> tuple[str, str, dict]:
    """An SDC expression extension triple for item(ext=[...])."""
    return SDC + name, "valueExpression", {"language": "text/fhirpath", "expression": expression}


def run(q: dict, data: dict[str, Any], **kwargs: Any):
    """Parse a POST-like dict into state and evaluate it; returns (form, state, view)."""
    form = build_form(q)
    state = FormState.from_post(form, data)
    return form, state, evaluate(form, state, **kwargs)


@pytest.fixture
def jinja_env() -> jinja2.Environment:
    """A bare autoescaping Environment over the app's templates (as the brief requires), with English
    gettext as Flask-Babel installs it (newstyle: `_("%(n)s", n=1)`)."""
    env = jinja2.Environment(autoescape=True, loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             undefined=jinja2.StrictUndefined, extensions=["jinja2.ext.i18n"])
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    from smart_app import i18n  # the app's date and number filters and say(), as create_app installs them

    env.filters.update(i18n.FILTERS)
    env.globals["say"] = i18n.say
    from smart_app.forms.units import unit_words  # as web/questionnaires.init_app installs it

    env.filters["unit_words"] = lambda unit: i18n.say(unit_words(unit))
    return env


@pytest.fixture
def render(jinja_env: jinja2.Environment):
    """Render _form.html for a FormView."""
    template = jinja_env.get_template("questionnaires/_form.html")

    def _render(view, **context: Any) -> str:
        return template.render(view=view, action_url="/l/h/q", csrf_field=Markup('<input type="hidden" name="csrf_token" value="t">'), **context)

    return _render
