"""A request's FHIR clients are closed when it ends: no connection pool outlives the request."""
from __future__ import annotations

from smart_app.ehr import client as fhir


def test_every_fhir_client_a_page_used_is_closed_at_the_end_of_the_request(client, launcher, monkeypatch):
    handle, _ = launcher.ehr_launch("p1")
    launcher.serve_patient("p1")
    created: list[fhir.FhirClient] = []
    closed: list[fhir.FhirClient] = []
    original_init, original_close = fhir.FhirClient.__init__, fhir.FhirClient.close

    def recording_init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        created.append(self)

    def recording_close(self):
        closed.append(self)
        original_close(self)

    monkeypatch.setattr(fhir.FhirClient, "__init__", recording_init)
    monkeypatch.setattr(fhir.FhirClient, "close", recording_close)
    assert client.get(f"/l/{handle}/").status_code == 200
    assert created, "the home page reads the patient through a FhirClient"
    assert closed == created
    assert all(c._session.trust_env is False for c in created)
