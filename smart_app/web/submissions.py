"""A sent submission's receipt and its retries (questionnaires and the medication review alike).

Each view parses the request, calls one function of `smart_app.delivery` (or reads the receipt) and
renders or redirects. A GET never sends: the due retry is a POST the receipt page submits.
"""
from __future__ import annotations

from flask import Blueprint, Flask, abort, redirect, render_template, url_for
from werkzeug.wrappers import Response

from smart_app import delivery, safety
from smart_app.delivery import submission
from smart_app.forms.catalog import key_for, source_for, sources_plan
from smart_app.launch.session import current_launch
from smart_app.safety.notice import notice
from smart_app.web.whose import launch_plan, whose

bp = Blueprint("submissions", __name__, url_prefix="/l/<handle>")


def init_app(app: Flask) -> None:
    """Register the blueprint."""
    app.register_blueprint(bp)


@bp.get("/submissions/<submission_id>")
def receipt(handle: str, submission_id: str) -> str:
    """What was sent, and its status (a GET never sends: the due retry is a POST the page submits)."""
    launch = current_launch(handle)
    outcome = submission.receipt(launch, submission_id)
    if outcome is None:
        abort(404)
    # The link back to the form needs only its key: the catalog's sources, not the response history.
    launch.reads.fetch(sources_plan(launch) + launch_plan(launch))
    form_resource = source_for(launch, outcome.questionnaire)
    return render_template("submissions/receipt.html", launch=launch, outcome=outcome,
                           entry_key=key_for(launch, outcome.questionnaire), form_resource=form_resource,
                           whose=whose(launch), safety_notice=notice(outcome.safety, safety.settings()))


@bp.post("/submissions/<submission_id>/deliver")
def deliver(handle: str, submission_id: str) -> Response:
    """The automatic retry: send a pending submission whose wait is over (else nothing), then the receipt."""
    launch = current_launch(handle)
    if delivery.resend(launch, submission_id, manual=False) is None:
        abort(404)
    return redirect(url_for(".receipt", handle=handle, submission_id=submission_id), code=303)


@bp.post("/submissions/<submission_id>/retry")
def retry(handle: str, submission_id: str) -> Response:
    """Try again now (a pending or failed submission), then back to the receipt."""
    launch = current_launch(handle)
    if delivery.resend(launch, submission_id, manual=True) is None:
        abort(404)
    return redirect(url_for(".receipt", handle=handle, submission_id=submission_id), code=303)
