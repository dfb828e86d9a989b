"""Authorization endpoints and the login, patient-picker and approval screens."""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, jsonify, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse
from authlib.oauth2 import OAuth2Error

from . import people
from .models import Consent, EndUser
from .scopes import describe_scope, split_scopes
from .server import StoredAuthorizationRequest
from .service import SandboxAuth
from .storage import PendingAuthorization

bp = Blueprint("auth", __name__, url_prefix="/auth")
discovery = Blueprint("discovery", __name__)


def _auth() -> SandboxAuth:
    """The app's authorization service."""
    return current_app.extensions["sandbox"].auth


def _error(error: OAuth2Error, state: str | None) -> Response | tuple[str, int]:
    """Redirect the error to the client when its redirect_uri is valid; otherwise a plain page."""
    response = _auth().server.authorization_error(error, state)
    if response is not None:
        return response
    return render_template("auth/error.html", error=error.error, description=error.description), 400


def _pending_or_404() -> PendingAuthorization:
    """The pending authorization named by the `txn` field, or 404."""
    pending = _auth().store.get_pending(request.values.get("txn"))
    if pending is None:
        abort(404, description="This sign-in has expired or was already used. Start the launch again.")
    return pending


@discovery.get("/fhir/.well-known/smart-configuration")
def smart_configuration() -> Response:
    """SMART discovery document for the FHIR base."""
    return jsonify(_auth().smart_configuration())


@discovery.get("/fhir/.well-known/openid-configuration")
def openid_configuration() -> Response:
    """OpenID Connect discovery document for the issuer (the FHIR base)."""
    return jsonify(_auth().openid_configuration())


@bp.route("/authorize", methods=["GET", "POST"])
def authorize() -> BaseResponse | tuple[str, int]:
    """Validate an authorization request (GET or POST), then send the user through sign-in."""
    auth = _auth()
    try:
        auth.server.get_consent_grant(end_user=None)
    except OAuth2Error as error:
        return _error(error, request.values.get("state"))
    pending = auth.store.begin_pending(request.values.to_dict())
    launch = auth.store.get_launch(pending.params.get("launch"))
    if launch and launch.practitioner:
        # EHR launch: the practitioner is already signed in to the EHR shell (SSO).
        pending.user_ref, pending.patient = launch.practitioner, launch.patient
    hinted = people.find(auth.directory, pending.params.get("login_hint"))
    if hinted and not pending.user_ref:
        auth.sign_in(pending, hinted)
    hinted_patient = pending.params.get("sandbox_patient")
    if hinted_patient and pending.patient is None and people.find_patient(auth.directory, hinted_patient):
        pending.patient = hinted_patient
    return _advance(pending)


def _advance(pending: PendingAuthorization) -> BaseResponse | tuple[str, int]:
    """Go to the next screen, or finish at once when approval is automatic."""
    auth = _auth()
    step = auth.next_step(pending)
    if step == "approve" and (auth.auto_approve or pending.params.get("sandbox_approve") == "all"):
        return _finish(pending, approved=split_scopes(pending.params.get("scope")))
    if step == "approve":
        # Approved before for exactly this request: a relaunch in the sidebar does not ask again.
        remembered = auth.consents.recall(pending.user_ref, pending.params.get("client_id"),
                                          split_scopes(pending.params.get("scope")))
        if remembered is not None:
            return _finish(pending, approved=remembered)
    return redirect(url_for(f"auth.{step}", txn=pending.txn))


@bp.route("/login", methods=["GET", "POST"])
def login() -> BaseResponse | tuple[str, int] | str:
    """Sign in as one of the sandbox's practitioners, patients or caregivers (no password)."""
    auth = _auth()
    pending = _pending_or_404()
    if request.method == "POST":
        person = people.find(auth.directory, request.form.get("user"))
        if person is None:
            abort(400, description="Choose someone to sign in as.")
        auth.sign_in(pending, person)
        return _advance(pending)
    everyone = people.sign_in_people(auth.directory)
    groups = [(kind, [p for p in everyone if p.kind == kind]) for kind in people.SIGN_IN_TYPES]
    return render_template("auth/login.html", txn=pending.txn, groups=groups)


@bp.route("/pick", methods=["GET", "POST"])
def pick() -> BaseResponse | tuple[str, int] | str:
    """Choose the patient for a standalone launch: practitioners any, caregivers their linked patients, patients themselves."""
    auth = _auth()
    pending = _pending_or_404()
    user = people.find(auth.directory, pending.user_ref)
    if user is None:
        abort(400, description="Sign in first.")
    allowed = people.pickable_patients(auth.directory, user)
    if request.method == "POST":
        chosen = next((p for p in allowed if p.id == request.form.get("patient")), None)
        if chosen is None:
            abort(403, description="You can only open your own record or the records linked to you.")
        pending.patient = chosen.id
        return _advance(pending)
    return render_template("auth/pick.html", txn=pending.txn, patients=allowed)


@bp.route("/approve", methods=["GET", "POST"])
def approve() -> Response | tuple[str, int] | str:
    """List the requested scopes in plain words; the user may untick any before approving."""
    auth = _auth()
    pending = _pending_or_404()
    client = auth.store.get_client(pending.params.get("client_id"))
    allowed = split_scopes(client.get_allowed_scope(pending.params.get("scope"))) if client else []
    if request.method == "POST":
        if request.form.get("decision") != "approve":
            return _finish(pending, approved=None)
        chosen = set(request.form.getlist("scope"))
        approved = [s for s in allowed if s in chosen]
        if request.form.get("remember") and pending.user_ref and client is not None:
            auth.consents.remember(pending.user_ref, client.client_id, split_scopes(pending.params.get("scope")), approved)
        return _finish(pending, approved=approved)
    user = people.find(auth.directory, pending.user_ref)
    patient = people.find_patient(auth.directory, pending.patient)
    requested = split_scopes(pending.params.get("scope"))
    return render_template(
        "auth/approve.html",
        txn=pending.txn,
        client=client,
        user=user,
        patient=patient,
        scopes=[(s, describe_scope(s)) for s in allowed],
        refused=[(s, describe_scope(s)) for s in requested if s not in allowed],
    )


def _finish(pending: PendingAuthorization, approved: list[str] | None) -> Response | tuple[str, int]:
    """Issue the code (or access_denied) through Authlib, re-validating the parked request."""
    auth = _auth()
    params = pending.params
    person = people.find(auth.directory, pending.user_ref)
    consent = None
    ehr_launch = auth.store.get_launch(params.get("launch"))
    if approved is not None and person is not None and ehr_launch is None and pending.patient is not None \
            and not people.may_open(auth.directory, person, pending.patient):
        approved = None  # a standalone sign-in never carries a record its user may not open
    if approved is not None and person is not None:
        launch = ehr_launch or auth.new_launch(
            patient=pending.patient,
            practitioner=person.ref if person.kind == "Practitioner" else None,
            source="standalone",
        )
        consent = Consent(
            user=EndUser(person.ref, person.display),
            patient=pending.patient or launch.patient,
            encounter=launch.encounter,
            scopes=approved,
            launch=launch,
        )
    oauth_request = StoredAuthorizationRequest(auth.urls.auth("authorize"), params)
    try:
        grant = auth.server.get_consent_grant(request=oauth_request, end_user=consent)
    except OAuth2Error as error:
        return _error(error, params.get("state"))
    auth.store.finish_pending(pending.txn)
    return auth.server.create_authorization_response(request=oauth_request, grant_user=consent, grant=grant)


@bp.post("/token")
def token() -> Response:
    """Token endpoint: authorization_code and refresh_token grants."""
    return _auth().server.create_token_response()


@bp.post("/introspect")
def introspect() -> Response:
    """RFC 7662 token introspection."""
    return _auth().server.create_endpoint_response("introspection")


@bp.post("/revoke")
def revoke() -> Response:
    """RFC 7009 token revocation."""
    return _auth().server.create_endpoint_response("revocation")


@bp.get("/jwks")
def jwks() -> Response:
    """The public key that verifies id_tokens."""
    return jsonify(_auth().keys.jwks())
