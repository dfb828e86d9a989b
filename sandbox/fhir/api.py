"""The FHIR R4 HTTP API blueprint: authentication, faults, content handling and routing.

Views stay thin: they parse the request, call one interaction from `interactions` or
`bundles`, and render the Result (honouring `Prefer: return=`). Every error is an
OperationOutcome; every request but /metadata needs a bearer token the resolver knows.
"""
from __future__ import annotations

import json
import socket
import struct
import time
from typing import Any, Iterator

from flask import Blueprint, Response, current_app, g, request
from werkzeug.exceptions import HTTPException

from sandbox.contracts import AccessGrant, FaultPlan, GrantResolver, PlannedFault
from sandbox.fhir import bundles
from sandbox.fhir import interactions as ops
from sandbox.fhir import terminology
from sandbox.fhir.capability import capability_statement
from sandbox.fhir.outcome import FhirError, informational
from sandbox.fhir.store import FhirStore

FHIR_JSON = "application/fhir+json; charset=utf-8"
_ALL = ["GET", "POST", "PUT", "DELETE", "PATCH"]
_JSON_TYPES = ("application/fhir+json", "application/json", "application/json+fhir")


class DroppedConnection(ConnectionAbortedError):
    """Raised mid-stream to break a response when the raw socket cannot be reset."""


def _json_response(body: Any, status: int, headers: dict[str, str] | None = None) -> Response:
    """Serialise a FHIR JSON body with the FHIR media type."""
    payload = "" if body is None else json.dumps(body, ensure_ascii=False)
    return Response(payload, status=status, headers=headers or {}, content_type=FHIR_JSON)


def _error_response(err: FhirError) -> Response:
    """Render a FhirError as an OperationOutcome response."""
    headers = dict(err.headers)
    if err.status == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="sandbox"')
    return _json_response(err.outcome(), err.status, headers)


def _prefer() -> dict[str, str]:
    """Parse the Prefer header into a dict such as {"return": "minimal", "handling": "lenient"}."""
    out = {}
    for part in request.headers.get("Prefer", "").split(";"):
        for item in part.split(","):
            key, _, value = item.strip().partition("=")
            if key:
                out[key.lower()] = value.strip('"')
    return out


def _body() -> Any:
    """Parse the request body as FHIR JSON; 415 for other media types, 400 for bad JSON."""
    if "json" not in (request.mimetype or "") or not request.mimetype.startswith(_JSON_TYPES):
        raise FhirError(415, f"unsupported content type {request.mimetype or 'none'!r}; send application/fhir+json",
                        code="not-supported")
    try:
        return json.loads(request.get_data(as_text=True) or "null")
    except json.JSONDecodeError as exc:
        raise FhirError(400, f"the body is not valid JSON ({exc.msg} at line {exc.lineno})",
                        code="structure") from None


def _render(result: ops.Result, ctx: ops.Context) -> Response:
    """Turn an interaction Result into a response, honouring Prefer: return=."""
    headers = dict(result.headers)
    if "Location" in headers:
        headers["Location"] = f"{ctx.base_url}/{headers['Location']}"
    wanted = _prefer().get("return", "representation")
    body: Any = result.resource
    if result.status == 204:
        body = None
    elif request.method in ("POST", "PUT") and result.resource is not None \
            and result.resource.get("resourceType") != "Bundle":
        if wanted == "minimal":
            body = None
        elif wanted == "OperationOutcome":
            body = informational(f"{result.resource['resourceType']}/{result.resource['id']} stored "
                                 f"as version {result.resource['meta']['versionId']}")
    return _json_response(body, result.status, headers)


def _bearer() -> str | None:
    """The bearer token from the Authorization header, if one is present."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _is_write() -> bool:
    """True for requests that change data (a bundle of only GETs is a read)."""
    if request.method in ("PUT", "DELETE", "PATCH"):
        return True
    if request.method != "POST" or request.path.endswith("/_search"):
        return False
    if request.path.rstrip("/") == g.fhir_base_path.rstrip("/"):
        try:
            return bundles.is_write(json.loads(request.get_data(as_text=True) or "null"))
        except ValueError:
            return True
    return True


def _interaction() -> str:
    """Name the FHIR interaction of this request (a bundle with any PUT counts as an update)."""
    method, path = request.method, request.path.rstrip("/")
    if request.method == "POST" and path == g.fhir_base_path.rstrip("/"):
        try:
            body = json.loads(request.get_data(as_text=True) or "null")
            methods = {(e.get("request") or {}).get("method") for e in body.get("entry") or []}
        except (ValueError, AttributeError):
            return "transaction"
        return "update" if "PUT" in methods else str(body.get("type") or "transaction")
    if path.endswith("/_search"):
        return "search"
    segments = path[len(g.fhir_base_path.rstrip("/")):].strip("/").split("/")
    if method == "GET":
        return "search" if len(segments) == 1 else ("vread" if "_history" in segments else "read")
    return {"POST": "create", "PUT": "update", "DELETE": "delete"}.get(method, method.lower())


def _drop_connection() -> bool:
    """Reset the client's TCP connection (RST) if the server exposes the socket; True on success."""
    sock = request.environ.get("werkzeug.socket")
    if sock is None:
        return False
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        return False
    return True


def _broken_stream(payload: bytes) -> Iterator[bytes]:
    """Yield half the body, then fail, so the client never gets a complete response."""
    yield payload[: len(payload) // 2]
    raise DroppedConnection("simulated connection drop after commit")


def create_fhir_blueprint(
    store: FhirStore,
    resolve_grant: GrantResolver,
    faults: FaultPlan | None,
    *,
    base_path: str = "/fhir",
    security_endpoints: dict[str, str] | None = None,
) -> Blueprint:
    """Build the FHIR API blueprint over a store, a token resolver and an optional fault plan."""
    bp = Blueprint("fhir", __name__, url_prefix=base_path.rstrip("/") or None)

    def take_fault(grant: AccessGrant) -> PlannedFault | None:
        """Ask the fault plan what to do with this request."""
        if faults is None:
            return None
        return faults.take(is_write=_is_write(), launch_id=grant.launch_id, interaction=_interaction())

    def context(grant: AccessGrant) -> ops.Context:
        """The interaction context for this request."""
        return ops.Context(store=store, grant=grant, base_url=request.url_root.rstrip("/") + base_path.rstrip("/"))

    @bp.before_request
    def authenticate() -> Response | None:
        """Resolve the bearer token, then apply any fault planned for this request."""
        g.fhir_base_path = base_path
        g.fhir_drop = False
        g.fhir_stale = False
        if request.endpoint == "fhir.metadata" or request.method == "OPTIONS":
            return None
        token = _bearer()
        grant = resolve_grant(token)
        if grant is None or (grant.expires_at and grant.expires_at < time.time()):
            error = ', error="invalid_token"' if token else ""
            err = FhirError(401, "a valid bearer token is required" if not token else
                            "the bearer token is unknown, expired or revoked", code="login",
                            headers={"WWW-Authenticate": f'Bearer realm="sandbox"{error}'})
            return _error_response(err)
        g.fhir_grant = grant
        return _apply_fault(take_fault(grant))

    def _apply_fault(fault: PlannedFault | None) -> Response | None:
        """Answer now for status faults; otherwise set the switches the request will honour."""
        if fault is None:
            return None
        if fault.kind == "status":
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            err = FhirError(fault.status or 500, f"simulated failure ({fault.status})", headers=headers)
            return _error_response(err)
        if fault.kind == "latency":
            time.sleep(max(fault.delay_ms, 0) / 1000)
        elif fault.kind == "drop_after_commit":
            g.fhir_drop = True
        elif fault.kind == "stale_update":
            g.fhir_stale = True
        return None

    @bp.after_request
    def drop_if_planned(response: Response) -> Response:
        """After a committed write, break the connection so the client never sees the answer."""
        if not getattr(g, "fhir_drop", False) or response.status_code >= 400:
            return response
        if _drop_connection():
            return response  # the socket is gone; werkzeug's write fails and is treated as a drop
        payload = response.get_data()
        broken = Response(_broken_stream(payload), status=response.status_code, headers=dict(response.headers))
        broken.headers["Content-Length"] = str(len(payload))
        return broken

    @bp.errorhandler(FhirError)
    def fhir_error(err: FhirError) -> Response:
        """Every FHIR error becomes an OperationOutcome."""
        return _error_response(err)

    @bp.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        """Werkzeug HTTP errors inside the API also answer with an OperationOutcome."""
        return _error_response(FhirError(exc.code or 500, exc.description or exc.name))

    @bp.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        """A bug still answers with an OperationOutcome; the traceback goes to the log, not the client."""
        current_app.logger.exception("FHIR API failure on %s %s", request.method, request.path)
        return _error_response(FhirError(500, "internal server error", code="exception"))

    def ctx_now() -> ops.Context:
        """Context for the authenticated request, with the stale-update fault applied."""
        ctx = context(g.fhir_grant)
        ctx.stale_update = bool(g.get("fhir_stale"))
        return ctx

    def not_allowed(*allowed: str) -> FhirError:
        """405 with an Allow header."""
        return FhirError(405, f"{request.method} is not supported here", code="not-supported",
                         headers={"Allow": ", ".join(allowed)})

    @bp.route("/metadata", methods=_ALL)
    def metadata() -> Response:
        """The CapabilityStatement; open to all, as SMART discovery needs."""
        if request.method != "GET":
            raise not_allowed("GET")
        endpoints = security_endpoints or current_app.config.get("SANDBOX_OAUTH_URIS")
        base = request.url_root.rstrip("/") + base_path.rstrip("/")
        return _json_response(capability_statement(base, endpoints), 200)

    @bp.route("/", methods=_ALL, strict_slashes=False)
    def system() -> Response:
        """Transaction and batch Bundles."""
        if request.method != "POST":
            raise not_allowed("POST")
        body = _body()
        if not isinstance(body, dict) or body.get("resourceType") != "Bundle":
            raise FhirError(400, "POST to the base needs a Bundle", expression=["resourceType"])
        ctx = ctx_now()
        prefer = _prefer().get("return", "representation")
        if body.get("type") == "transaction":
            return _json_response(bundles.transaction(ctx, body, prefer), 200)
        if body.get("type") == "batch":
            return _json_response(bundles.batch(ctx, body, prefer), 200)
        raise FhirError(400, "Bundle.type must be transaction or batch", expression=["Bundle.type"])

    @bp.route("/<type_>", methods=_ALL)
    def type_level(type_: str) -> Response:
        """Search (GET) or create (POST, optionally conditional via If-None-Exist)."""
        ctx = ctx_now()
        lenient = _prefer().get("handling") == "lenient"
        if request.method == "GET":
            pairs = list(request.args.items(multi=True))
            return _render(ops.search(ctx, type_, pairs, lenient=lenient), ctx)
        if request.method == "POST":
            ops.check_type(type_)
            result = ops.create(ctx, type_, _body(), if_none_exist=request.headers.get("If-None-Exist"))
            return _render(result, ctx)
        raise not_allowed("GET", "POST")

    @bp.route("/<type_>/_search", methods=_ALL)
    def search_post(type_: str) -> Response:
        """Search with form-encoded parameters (POST [type]/_search)."""
        if request.method != "POST":
            raise not_allowed("POST")
        ctx = ctx_now()
        pairs = list(request.args.items(multi=True)) + list(request.form.items(multi=True))
        lenient = _prefer().get("handling") == "lenient"
        return _render(ops.search(ctx, type_, pairs, lenient=lenient), ctx)

    @bp.route("/ValueSet/$expand", methods=_ALL)
    def expand_value_set() -> Response:
        """ValueSet/$expand?url=... for the value sets this server holds (GET, or POST with form parameters)."""
        if request.method not in ("GET", "POST"):
            raise not_allowed("GET", "POST")
        pairs = list(request.args.items(multi=True))
        if request.method == "POST":
            pairs += list(request.form.items(multi=True))
        ctx = ctx_now()
        return _render(terminology.expand(ctx, pairs), ctx)

    @bp.route("/<type_>/<id_>", methods=_ALL)
    def instance(type_: str, id_: str) -> Response:
        """Read, update (If-Match honoured) or delete one resource."""
        ctx = ctx_now()
        if request.method == "GET":
            return _render(ops.read(ctx, type_, id_), ctx)
        if request.method == "PUT":
            ops.check_type(type_)
            return _render(ops.update(ctx, type_, id_, _body(), if_match=request.headers.get("If-Match")), ctx)
        if request.method == "DELETE":
            return _render(ops.delete(ctx, type_, id_), ctx)
        raise not_allowed("GET", "PUT", "DELETE")

    @bp.route("/<type_>/<id_>/_history/<vid>", methods=_ALL)
    def version(type_: str, id_: str, vid: str) -> Response:
        """vread: one historical version."""
        if request.method != "GET":
            raise not_allowed("GET")
        ctx = ctx_now()
        return _render(ops.vread(ctx, type_, id_, vid), ctx)

    @bp.route("/<path:rest>", methods=_ALL)
    def unknown(rest: str) -> Response:
        """Anything else under the base is a 404 OperationOutcome."""
        raise FhirError(404, f"no FHIR endpoint at {base_path}/{rest}", code="not-found")

    return bp
