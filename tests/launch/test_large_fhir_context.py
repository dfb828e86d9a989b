"""A large fhirContext is kept whole; one past the record limit is refused with a clear page, never trimmed."""
from __future__ import annotations

from smart_app.launch.records import read_launch
from smart_app.launch.runtime import EXTENSION
from tests.fixtures.fake_ehr import id_token, token_response


def context_items(count: int) -> list[dict]:
    """`count` fhirContext entries naming DocumentReferences and a Questionnaire canonical."""
    return [{"reference": f"DocumentReference/doc-{n:05d}", "role": "https://example.org/roles/attached-note"}
            for n in range(count)] + [{"canonical": "http://smart-previsit.example.org/fhir/Questionnaire/phq-9|1.0.0"}]


def test_a_fhir_context_over_the_old_6000_byte_budget_is_kept_whole(app, launcher):
    items = context_items(80)  # ~8 KB of context: the old code dropped all of it
    handle, _ = launcher.ehr_launch("p1", token=token_response(patient="p1", fhirContext=items))
    record = read_launch(app.extensions[EXTENSION].store, handle)
    kept = record["context"]["fhir_context"]
    assert len(kept) == len(items)
    assert kept[-1]["canonical"] == items[-1]["canonical"]


def test_a_fhir_context_past_the_record_limit_is_refused_with_a_clear_page(launcher, fake_ehr, audit_log):
    items = context_items(1200)  # far past MAX_RECORD_BYTES once encrypted
    auth = launcher.authorize()
    token = token_response(patient="p1", fhirContext=items)
    token["id_token"] = id_token(fake_ehr.key, iss=fake_ehr.base, aud=auth.params["client_id"], nonce=auth.params.get("nonce"))
    fake_ehr.serve_token_once(token)
    response = launcher.callback(auth.state)
    page = response.get_data(as_text=True)
    assert response.status_code == 502
    assert "sent too much launch information" in page
    assert "CONTEXT_TOO_LARGE" in audit_log.text
