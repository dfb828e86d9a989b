"""The floor: a bare Flask route doing a page's essential work and nothing else, served like the app.

Per request it checks a signed session cookie (Flask's own cookie session), makes the page's
EHR reads through one keep-alive `requests.Session` per process to the same EHR, parses the
JSON, and renders the app's own template with the data the app rendered it with (captured from
the app, see `capture_pages`). What the floor leaves out is the app's cost: the server-side store,
launch records and their encryption, audit, form evaluation, and whatever the views add.
"""
from __future__ import annotations

import os
import pickle
import secrets
import types
from pathlib import Path
from typing import Any

from flask import Flask, abort, render_template, session
from markupsafe import Markup, escape

ROOT = Path(__file__).resolve().parent.parent
LOGIN = "/floor-login"


def _snapshot(value: Any) -> Any:
    """A picklable stand-in for a template value: the launch becomes its handle and context."""
    if type(value).__name__ == "Launch":
        return types.SimpleNamespace(handle=value.handle, context=value.context)
    return value


def page_capture(rendered: list[tuple[str, dict[str, Any]]], reads: list[tuple[str, str, str]]) -> dict[str, Any]:
    """What the floor needs to redo one page: every template the page rendered, in order, with its data
    (Flask's own globals left out), and the EHR reads. A form page renders its score partial first and
    the page after it; the page is the last template that is not a partial (`_name.html`)."""
    renders = [(template, {k: _snapshot(v) for k, v in context.items() if k not in ("g", "request", "session", "config")})
               for template, context in rendered]
    pickle.dumps(renders)  # fail here, in the bench, if something cannot travel
    pages = [i for i, (template, _) in enumerate(renders) if not template.rsplit("/", 1)[-1].startswith("_")]
    page = pages[-1] if pages else len(renders) - 1
    return {"template": renders[page][0], "renders": renders, "page": page, "reads": reads}


def write_floor_file(path: Path, app: Any, pages: dict[str, dict[str, Any]], fhir_base: str) -> None:
    """Save the captured pages and the app's URL rules (so url_for in its templates resolves the same)."""
    rules = [(r.rule, r.endpoint, sorted(r.methods or ())) for r in app.url_map.iter_rules() if r.endpoint != "static"]
    path.write_bytes(pickle.dumps({"pages": pages, "rules": rules, "fhir_base": fhir_base}))


def create_floor_app(data: dict[str, Any]) -> Flask:
    """The floor app for captured pages; `GET /floor/<name>` redoes page `name`."""
    import requests

    app = Flask("floor", template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"))
    app.config["SECRET_KEY"] = "bench-floor-secret"
    origin = data["fhir_base"].split("/fhir")[0]
    http = requests.Session()  # one keep-alive session per process, like the app's shared pool
    http.trust_env = False
    http.headers.update({"Accept": "application/fhir+json", "Authorization": "Bearer floor"})

    def unused(**_: Any) -> str:
        """The app's routes exist here only so url_for builds the same links."""
        abort(404)

    for rule, endpoint, methods in data["rules"]:
        app.add_url_rule(rule, endpoint=endpoint, view_func=unused, methods=[m for m in methods if m not in ("HEAD", "OPTIONS")])

    def csrf_token() -> str:
        """The token kept in the signed cookie."""
        return session.get("csrf", "")

    app.jinja_env.globals["csrf_token"] = csrf_token
    # The app's own template helpers (pure wording; score bands by the shipped safety settings).
    from smart_app import i18n, safety, wording
    wording.init_app(app)
    safety.init_app(app, {}, "")
    i18n.install(app)  # gettext, date filters, the switch's links (its route is among the app's rules above)
    app.jinja_env.globals["csrf_field"] = lambda: Markup(f'<input type="hidden" name="csrf_token" value="{escape(csrf_token())}">')

    @app.get(LOGIN)
    def login() -> str:
        """Issue the signed session cookie the floor checks."""
        session["ok"] = True
        session["csrf"] = secrets.token_urlsafe(32)
        return "ok"

    @app.get("/floor/<name>")
    def page(name: str) -> str:
        """Check the cookie, read from the EHR, parse, render."""
        if not session.get("ok"):
            abort(403)
        captured = data["pages"].get(name) or abort(404)
        for method, target, body in captured["reads"]:
            response = http.request(method, origin + target, data=body.encode("utf-8") if body else None, timeout=30)
            response.raise_for_status()
            response.json()
        html = [render_template(template, **context) for template, context in captured["renders"]]
        return html[captured["page"]]

    return app


def from_env() -> Flask:
    """gunicorn factory: captured pages from BENCH_FLOOR_FILE."""
    return create_floor_app(pickle.loads(Path(os.environ["BENCH_FLOOR_FILE"]).read_bytes()))
