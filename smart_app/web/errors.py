"""One place that turns errors into plain-language pages (launch errors, FHIR errors, HTTP errors)."""
from __future__ import annotations

from flask import Blueprint, render_template, request
from werkzeug.exceptions import HTTPException

from smart_app.errors import SHOWN_DETAIL, LaunchError, LaunchErrorCode
from smart_app.ehr.client import FhirError
from smart_app.launch.runtime import runtime

bp = Blueprint("errors", __name__)


@bp.app_errorhandler(LaunchError)
def launch_error(exc: LaunchError) -> tuple[str, int]:
    """A launch problem: what happened in plain words, and a way to start again when that helps."""
    code = exc.code
    rt = runtime()
    server = rt.settings.server_for(exc.iss) if exc.iss else None
    # A link back to /launch starts a standalone launch: only offer it where one can work. An
    # EHR launch can only be restarted from inside the EHR (it needs the EHR's `launch` value).
    standalone = server is not None and rt.standalone_possible(server.iss)
    relaunch_link = code.relaunch and standalone and exc.mode == "standalone"
    new_window = code is LaunchErrorCode.COOKIES_BLOCKED and standalone
    return render_template(
        "errors/launch.html", code=code, detail=exc.detail if code in SHOWN_DETAIL else "",
        server=server, relaunch_link=relaunch_link, new_window=new_window,
        from_ehr=exc.mode != "standalone",
    ), code.status


@bp.app_errorhandler(HTTPException)
def http_error(exc: HTTPException) -> tuple[str, int] | HTTPException:
    """Friendly pages for 4xx/5xx raised by views (404, 405, ...)."""
    if exc.code is None or exc.code < 400:
        return exc
    return render_template("errors/http.html", status=exc.code, name=exc.name, path=request.path), exc.code


@bp.app_errorhandler(500)
def server_error(exc: Exception) -> tuple[str, int]:
    """An unexpected failure; details stay in the server log."""
    return render_template("errors/http.html", status=500, name="Something went wrong", path=request.path), 500


@bp.app_errorhandler(FhirError)
def fhir_error(exc: FhirError) -> tuple[str, int]:
    """The health record server failed a request a page needed."""
    return render_template("errors/fhir.html", code=str(exc.code)), 502
