"""EHR shell pages (chart, portal, developer page), the style document and the fault admin endpoint."""
from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import Blueprint, Response, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from ..auth import people
from ..faults import FAULT_DESCRIPTIONS, PRESETS, UnknownFault
from . import chart

bp = Blueprint("shell", __name__)

# SMART styling (context-style); the app may use it to match the EHR's look.
SMART_STYLE = {
    "color_background": "#f4f6f8",
    "color_error": "#b00020",
    "color_highlight": "#1f6feb",
    "color_modal_backdrop": "",
    "color_success": "#1a7f37",
    "color_text": "#1f2328",
    "dim_border_radius": "4px",
    "dim_font_size": "16px",
    "dim_spacing_size": "16px",
    "font_family_body": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    "font_family_heading": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
}


def _state() -> Any:
    """The sandbox state (urls, store, auth, faults)."""
    return current_app.extensions["sandbox"]


def with_query(url: str, params: dict[str, str]) -> str:
    """Add encoded query parameters to a URL that may already have some."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def _default_practitioner() -> str | None:
    """The practitioner signed in to the EHR shell (the first one, unless ?practitioner= says otherwise)."""
    store = _state().store
    wanted = people.find(store, f"Practitioner/{request.args.get('practitioner', '')}")
    chosen = wanted or people.default_clinician(store)
    return chosen.ref if chosen else None


def _patient_or_404(patient_id: str) -> people.Person:
    """The patient, or 404."""
    person = people.find_patient(_state().store, patient_id)
    if person is None:
        abort(404, description="No such patient in the sandbox.")
    return person


def _ehr_launch_url(patient: people.Person, *, in_chart: bool = True) -> str:
    """Create a fresh EHR launch for this patient and return the app's launch URL for it.

    Outside the chart (the app alone in a window) nothing else shows the patient, so the app is asked for its banner.
    """
    state = _state()
    if not state.app_launch_url:
        abort(409, description="No app launch URL is configured (launch_uri in launch.json).")
    faults = request.args.getlist("fault")
    unknown = [f for f in faults if f not in PRESETS]
    if unknown:
        abort(400, description="Unknown fault preset.")
    encounter = chart.current_encounter(state.store, patient.id)
    launch = state.auth.new_launch(
        patient=patient.id,
        encounter=encounter["id"] if encounter else None,
        practitioner=_default_practitioner(),
        questionnaire=request.args.get("questionnaire") or None,
        task=_task_context(patient),
        source="ehr",
        faults=faults,
        need_patient_banner=not in_chart,
    )
    return with_query(state.app_launch_url, {"iss": state.urls.fhir_base, "launch": launch.launch_id})


def _task_context(patient: people.Person) -> str | None:
    """The `?task=Task/<id>` a launch carries in its fhirContext: only one of this patient's Tasks (else 400)."""
    wanted = request.args.get("task") or None
    if wanted is None:
        return None
    known = {f"Task/{row['id']}" for row in chart.tasks(_state().store, patient.id)}
    if wanted not in known:
        abort(400, description="That task is not one of this patient's.")
    return wanted


@bp.get("/")
def index() -> str:
    """Front page: where the EHR, the portal and the developer page are."""
    return render_template("shell/index.html", patients=people.people(_state().store, "Patient"))


@bp.get("/ehr/")
def ehr_home() -> str:
    """The EHR's patient list, and which clinician is signed in to the EHR."""
    store = _state().store
    clinicians = [p for p in people.sign_in_people(store) if p.kind == "Practitioner"]
    return render_template("shell/ehr_home.html", patients=people.people(store, "Patient"),
                           clinicians=clinicians, signed_in=_default_practitioner())


@bp.get("/ehr/patient/<patient_id>")
def patient_chart(patient_id: str) -> str:
    """A patient's chart with the app in a sidebar iframe, launched with EHR context."""
    state = _state()
    patient = _patient_or_404(patient_id)
    return render_template(
        "shell/chart.html",
        patient=patient,
        encounter=chart.current_encounter(state.store, patient.id),
        app_src=_ehr_launch_url(patient),
        flags=chart.active_flags(state.store, patient.id),
        responses=chart.latest_responses(state.store, patient.id),
        observations=chart.latest_observations(state.store, patient.id),
        tasks=chart.tasks(state.store, patient.id),
        questionnaires=chart.questionnaires(state.store),
        chosen_questionnaire=request.args.get("questionnaire", ""),
        practitioner=request.args.get("practitioner", ""),
    )


@bp.get("/ehr/launch/<patient_id>")
def ehr_launch(patient_id: str) -> BaseResponse:
    """Start an EHR launch outside the chart (developer-page links): redirect to the app's launch URL."""
    return redirect(_ehr_launch_url(_patient_or_404(patient_id), in_chart=False))


@bp.get("/portal")
def portal() -> str:
    """Patient portal with a standalone launch of the app ("Prepare for your visit")."""
    state = _state()
    standalone = with_query(state.app_launch_url, {"iss": state.urls.fhir_base}) if state.app_launch_url else None
    return render_template("shell/portal.html", standalone=standalone)


@bp.get("/dev")
def developer() -> str:
    """Developer page: launch URLs for every flow and fault, the fault form, client registration."""
    state = _state()
    standalone = with_query(state.app_launch_url, {"iss": state.urls.fhir_base}) if state.app_launch_url else None
    patients = people.people(state.store, "Patient")
    return render_template(
        "shell/dev.html",
        urls=state.urls,
        standalone=standalone,
        patients=patients,
        signins=people.sign_in_people(state.store),
        first_patient=patients[0] if patients else None,
        faults=[(name, FAULT_DESCRIPTIONS[name]) for name in PRESETS],
        pending=state.faults.pending(),
        clients=state.auth.store.clients(),
        consents=state.auth.consents.all(),
        launch_config=state.launch_config_path,
    )


@bp.post("/dev/consents/revoke")
def revoke_consent() -> BaseResponse:
    """Forget one remembered approval (the developer page's button): the next launch asks again."""
    origin = request.headers.get("Origin")
    if origin and origin != _state().urls.base_url:
        abort(403, description="Approvals can only be revoked from the sandbox's own pages.")
    if _state().auth.consents.revoke(request.form.get("key", "")):
        flash("Remembered approval revoked: the next launch asks again.")
    else:
        flash("That approval was not remembered.")
    return redirect(url_for("shell.developer"))


@bp.get("/smart-style.json")
def smart_style() -> Response:
    """The smart_style_url document."""
    return jsonify(SMART_STYLE)


@bp.get("/admin/faults")
def list_faults() -> Response:
    """The faults planned right now (JSON)."""
    return jsonify({"pending": _state().faults.pending()})


@bp.post("/admin/faults")
def set_fault() -> BaseResponse | tuple[Response, int]:
    """Plan a fault (JSON body, or the developer page's form, which is sent back to /dev)."""
    origin = request.headers.get("Origin")
    if origin and origin != _state().urls.base_url:
        # Only the developer page (or a script without an Origin) may plan faults.
        abort(403, description="Faults can only be set from the sandbox's own pages.")
    from_form = not request.is_json
    data = request.form.to_dict() if from_form else (request.get_json(silent=True) or {})
    try:
        result = apply_fault(_state().faults, data)
    except (UnknownFault, ValueError, TypeError) as exc:
        if from_form:
            flash(f"Fault not set: {exc}")
            return redirect(url_for("shell.developer"))
        return jsonify({"error": str(exc)}), 400
    if from_form:
        flash(f"Fault set: {result['action']}")
        return redirect(url_for("shell.developer"))
    return jsonify(result)


def _int(data: dict, key: str, default: int | None) -> int | None:
    """An optional integer field ('' counts as missing)."""
    value = data.get(key)
    if value in (None, ""):
        return default
    return int(value)


def apply_fault(faults: Any, data: dict) -> dict:
    """Apply one admin fault request: {action, launch_id?, count?, status?, retry_after?, delay_ms?}."""
    action = data.get("action")
    launch_id = data.get("launch_id") or None
    count = _int(data, "count", 1)
    if action == "expire_token":
        return {"action": action, "affected": faults.expire_access_now(launch_id)}
    if action == "revoke_refresh":
        return {"action": action, "affected": faults.revoke_refresh(launch_id)}
    if action == "fail_writes":
        faults.fail_writes(count, status=_int(data, "status", 500), retry_after=_int(data, "retry_after", None),
                           launch_id=launch_id)
    elif action == "latency":
        faults.add_latency(_int(data, "delay_ms", 1000), count, launch_id=launch_id,
                           writes_only=str(data.get("writes_only", "")).lower() in ("1", "true", "on"))
    elif action == "drop_after_commit":
        faults.drop_after_commit(count, launch_id=launch_id)
    elif action == "stale_update":
        faults.stale_next_update(launch_id=launch_id)
    elif action == "clear":
        faults.clear()
    else:
        raise UnknownFault(f"unknown action {action!r}")
    return {"action": action, "pending": faults.pending()}
