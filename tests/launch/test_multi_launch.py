"""Two launches in one browser keep their own patient and token, interleaved, for as long as they live."""
from __future__ import annotations

import json
import re

from werkzeug import Response

from tests.fixtures.app import Launcher, registration
from tests.fixtures.fake_ehr import encounter, id_token, patient, token_response
from tests.fixtures.overlap import Rendezvous


def test_two_interleaved_launches_keep_their_own_patient(client, launcher, fake_ehr):
    # Start both before finishing either, as two EHR tabs would.
    first = launcher.authorize(launch="tab-1")
    second = launcher.authorize(launch="tab-2")

    def finish(auth, patient_id, access):
        token = token_response(patient=patient_id, access_token=access)
        token["id_token"] = id_token(fake_ehr.key, iss=fake_ehr.base, aud="previsit-test", nonce=auth.params["nonce"])
        fake_ehr.serve_token_once(token)
        return launcher.callback(auth.state).headers["Location"]

    home_b = finish(second, "p-bob", "at-bob")
    home_a = finish(first, "p-alice", "at-alice")
    assert home_a != home_b
    # Each patient is readable only with its own launch's token.
    launcher.serve_patient("p-alice", access_token="at-alice")
    launcher.serve_patient("p-bob", access_token="at-bob")
    for _ in range(2):
        page_a = client.get(home_a).get_data(as_text=True)
        page_b = client.get(home_b).get_data(as_text=True)
        assert "Family-p-alice" in page_a and "Family-p-bob" not in page_a
        assert "Family-p-bob" in page_b and "Family-p-alice" not in page_b
    reads = [r for r in fake_ehr.requests() if r.path.startswith("/fhir/Patient/")]
    assert len(reads) == 4
    for request in reads:
        expected = "Bearer at-alice" if request.path.endswith("p-alice") else "Bearer at-bob"
        assert request.headers["Authorization"] == expected


def test_handle_of_another_browser_is_refused(app, launcher, fake_ehr):
    handle, _ = launcher.ehr_launch("p1")
    intruder = app.test_client()
    intruder.get("/")  # a browser of its own
    response = intruder.get(f"/l/{handle}/")
    assert response.status_code == 401
    assert "LAUNCH_EXPIRED" in response.get_data(as_text=True)
    assert not [r for r in fake_ehr.requests() if r.path.startswith("/fhir/Patient")]


def test_unknown_or_malformed_handle_gets_relaunch_page(client, launcher):
    launcher.ehr_launch("p1")
    for handle in ("AAAAAAAAAAAAAAAAAAAAAA", "x", "../../etc"):
        response = client.get(f"/l/{handle}/")
        assert response.status_code in (401, 404), handle


def test_home_page_shows_banner_and_encounter_without_extra_round_trips(client, launcher, fake_ehr):
    token = token_response(patient="p1", encounter="e1")
    handle, token = launcher.ehr_launch(token=token)
    launcher.serve_patient("p1")
    fake_ehr.serve_resource(encounter("e1"))
    before = len(fake_ehr.requests())
    html = client.get(f"/l/{handle}/").get_data(as_text=True)
    # A clinician sees the MRN; dates read as words (issue 14), never ISO.
    assert "Family-p1" in html and "MRN-p1" in html and "2 January 1970" in html
    assert "Annual check-up" in html and "1 December 2026" in html
    later = fake_ehr.requests()[before:]
    reads = [r.path for r in later if r.path.count("/") == 3]  # instance reads (searches are the tasks')
    assert sorted(reads) == ["/fhir/Encounter/e1", "/fhir/Patient/p1"]
    assert not [r for r in later if not r.path.startswith("/fhir/") or ".well-known" in r.path]  # no discovery, no token


def test_home_page_reads_go_out_in_one_parallel_round(make_app, threaded_fake_ehr):
    """Every FHIR read of the home page is in flight at once: each is held until all have arrived."""
    def answer(body):
        return lambda request: Response(json.dumps(body), content_type="application/fhir+json")

    ehr = threaded_fake_ehr
    client = make_app(registration(ehr.base)).test_client()
    launcher = Launcher(client, ehr)
    handle, _ = launcher.ehr_launch(token=token_response(patient="p1", encounter="e1"))
    # banner, visit, tasks; and the CapabilityStatement, learned in the same round (this server does not batch)
    expected = ["/fhir/Encounter/e1", "/fhir/Patient/p1", "/fhir/QuestionnaireResponse", "/fhir/metadata"]
    together = Rendezvous(len(expected))
    ehr.server.clear_all_handlers()
    ehr.respond_with("/fhir/metadata", together.handler(answer({"resourceType": "CapabilityStatement", "rest": [{"mode": "server"}]})))
    ehr.respond_with("/fhir/Patient/p1", together.handler(answer(patient("p1"))))
    ehr.respond_with("/fhir/Encounter/e1", together.handler(answer(encounter("e1"))))
    ehr.server.expect_request(re.compile(r"^/fhir/[A-Z][A-Za-z]+$")).respond_with_handler(
        together.handler(answer({"resourceType": "Bundle", "type": "searchset", "entry": []})))
    before = len(ehr.requests())
    response = client.get(f"/l/{handle}/")
    assert response.status_code == 200
    assert "Testpatient" in response.get_data(as_text=True)
    assert sorted(r.path for r in ehr.requests()[before:]) == expected
    assert (together.met, together.missed) == (len(expected), 0)  # a chained read would miss the round


def test_page_keeps_a_main_heading_without_the_banner(client, launcher, fake_ehr):
    handle, _ = launcher.ehr_launch(token=token_response(patient="p1", need_patient_banner=False))
    html = client.get(f"/l/{handle}/").get_data(as_text=True)
    assert html.count("<h1") == 1 and "Pre-visit information" in html  # the id_token's fhirUser is a Practitioner
