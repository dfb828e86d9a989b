"""A sent submission's receipt and its retries (questionnaires and the medication review alike).

Each view parses the request, calls one function of `smart_app.delivery` (or reads the receipt) and
renders or redirects. A GET never sends: the due retry is a POST the receipt page submits.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, abort, redirect, render_template, url_for
from werkzeug.wrappers import Response

from smart_app import delivery, safety
from smart_app.delivery import submission
from smart_app.forms.catalog import key_for, source_for, sources_plan
from smart_app.launch.session import Launch, current_launch
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
    facts = outcome.shown if outcome.shown is not None else _read_receipt_facts(launch, outcome)
    return render_template("submissions/receipt.html", launch=launch, outcome=outcome,
                           entry_key=facts.get("key"), form_resource=facts.get("form") or None,
                           whose={"kind": launch.context.user_kind, "patient_name": facts.get("patient_name")},
                           safety_notice=notice(outcome.safety, safety.settings()))


def _read_receipt_facts(launch: Launch, outcome: submission.SubmissionOutcome) -> dict[str, Any]:
    """The receipt's facts for a submission kept without them (the medication review, older sends): read now.
    A questionnaire's send keeps them (`SubmissionOutcome.shown`), so its receipt reads nothing from the EHR."""
    # The link back to the form needs only its key: the catalog's sources, not the response history.
    launch.reads.fetch(sources_plan(launch) + launch_plan(launch))
    return {"key": key_for(launch, outcome.questionnaire), "form": source_for(launch, outcome.questionnaire),
            "patient_name": whose(launch)["patient_name"]}


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
