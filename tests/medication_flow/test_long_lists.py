"""A medication list longer than the read bound is shown with a notice, never as if it were whole."""
from __future__ import annotations

import json

from werkzeug import Request, Response

from smart_app.medications import reads as medication_reads
from tests.fixtures.fake_ehr import token_response

SCOPE = "launch openid fhirUser patient/Patient.r patient/MedicationRequest.rs patient/QuestionnaireResponse.rs"


def endless_requests(fake_ehr, pages: int | None = None):
    """A MedicationRequest search whose every page links to one more (or stops after `pages`)."""
    def handler(request: Request) -> Response:
        n = int(request.args.get("n", "1"))
        bundle = {"resourceType": "Bundle", "type": "searchset", "link": [], "entry": [{"search": {"mode": "match"}, "resource": {
            "resourceType": "MedicationRequest", "id": f"mr-{n}", "status": "active", "intent": "order",
            "subject": {"reference": "Patient/p1"}, "medicationCodeableConcept": {"text": f"Medicine number {n}"}}}]}
        if pages is None or n < pages:
            bundle["link"].append({"relation": "next", "url": f"{fake_ehr.base}/MedicationRequest?n={n + 1}"})
        return Response(json.dumps(bundle), content_type="application/fhir+json")
    fake_ehr.serve_search("MedicationRequest", handler)


def test_a_list_beyond_the_page_bound_shows_what_was_read_and_says_it_is_incomplete(client, launcher, fake_ehr):
    endless_requests(fake_ehr)
    handle, _ = launcher.ehr_launch("p1", token=token_response(patient="p1", scope=SCOPE), with_id_token=False)
    launcher.serve_patient("p1")
    page = client.get(f"/l/{handle}/medications/").get_data(as_text=True)
    assert "some medicines are missing from it" in page
    assert "Medicine number 1<" in page and f"Medicine number {medication_reads.MAX_PAGES}<" in page
    reads = [r for r in fake_ehr.requests() if r.path.endswith("/MedicationRequest")]
    assert len(reads) == medication_reads.MAX_PAGES


def test_a_list_read_to_its_last_page_has_no_notice(client, launcher, fake_ehr):
    endless_requests(fake_ehr, pages=3)
    handle, _ = launcher.ehr_launch("p1", token=token_response(patient="p1", scope=SCOPE), with_id_token=False)
    launcher.serve_patient("p1")
    page = client.get(f"/l/{handle}/medications/").get_data(as_text=True)
    assert "Medicine number 3<" in page
    assert "some medicines are missing" not in page
