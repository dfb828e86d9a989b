"""The token is made fresh once, in the caller's thread, before a plan fans out; pool threads never refresh."""
from __future__ import annotations

import threading

from smart_app.ehr.reads import Read, ReadPlan, run
from tests.fhir.conftest import fhir_response
from tests.fhir.read_plans import capability, patient

PLAN = ReadPlan(tuple(Read.resource(pid, "Patient", pid) for pid in ("a", "b", "c")))


class TokenSource:
    """The launch's side of the token: records each call, in order, with the thread it came from."""

    def __init__(self) -> None:
        """Start with an old token; the next ask refreshes it."""
        self.calls: list[tuple[str, str]] = []
        self.current = "old"
        self._lock = threading.Lock()

    def token(self) -> str:
        """Like Launch.access_token: the first call refreshes (the old token was about to expire)."""
        with self._lock:
            if self.current == "old":
                self.current = "fresh"
                self.calls.append(("refresh", threading.current_thread().name))
            return self.current

    def after_401(self) -> str:
        """Like Launch.refresh_after_401."""
        with self._lock:
            self.current = "renewed"
            self.calls.append(("refresh-after-401", threading.current_thread().name))
            return self.current


def _serve_patients(fhir_server, seen: list[str], accepted: set[str]) -> None:
    """Answer each Patient read, recording its bearer token; tokens not in `accepted` get 401."""
    def handler(request):
        token = request.headers["Authorization"].removeprefix("Bearer ")
        seen.append(token)
        if token not in accepted:
            return fhir_response({"resourceType": "OperationOutcome", "issue": []}, 401)
        return fhir_response(patient(request.path.rsplit("/", 1)[1]))
    for pid in ("a", "b", "c"):
        fhir_server.expect_request(f"/fhir/Patient/{pid}").respond_with_handler(handler)


def test_a_token_about_to_expire_is_refreshed_once_before_the_reads_go_out(fhir_server, make_client):
    fhir_server.expect_request("/fhir/metadata").respond_with_response(fhir_response(capability(batch=False)))
    source, seen = TokenSource(), []
    _serve_patients(fhir_server, seen, {"fresh"})
    client = make_client(token=source.token, on_unauthorized=source.after_401)
    client.capabilities()
    seen.clear()

    found = run(client, PLAN)

    assert [found[pid]["id"] for pid in ("a", "b", "c")] == ["a", "b", "c"]
    assert source.calls == [("refresh", threading.current_thread().name)]  # once, here, not in a pool thread
    assert seen == ["fresh", "fresh", "fresh"]


def test_reads_the_server_rejects_are_asked_again_after_one_refresh_in_the_callers_thread(fhir_server, make_client):
    fhir_server.expect_request("/fhir/metadata").respond_with_response(fhir_response(capability(batch=False)))
    source, seen = TokenSource(), []
    source.current = "revoked"  # valid by its expiry, but the server no longer accepts it
    _serve_patients(fhir_server, seen, {"renewed"})
    client = make_client(token=source.token, on_unauthorized=source.after_401)
    client.capabilities()
    seen.clear()

    found = run(client, PLAN)

    assert [found[pid]["id"] for pid in ("a", "b", "c")] == ["a", "b", "c"]
    assert source.calls == [("refresh-after-401", threading.current_thread().name)]  # one refresh for three 401s
    assert sorted(seen) == ["renewed"] * 3 + ["revoked"] * 3
