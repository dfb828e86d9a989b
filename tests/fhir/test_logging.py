"""Logs name the method, type, status and correlation id, never tokens, URLs or query values."""
from __future__ import annotations

import logging

from smart_app.ehr import client as fhir

from tests.fhir.conftest import TOKEN, fhir_response, in_sequence


def test_log_lines_carry_ids_and_status_but_no_secrets_or_search_values(fhir_server, make_client, caplog):
    fhir_server.expect_request("/fhir/Patient").respond_with_handler(in_sequence(
        fhir_response(None, 503), fhir_response({"resourceType": "Bundle", "type": "searchset"})))
    with caplog.at_level(logging.INFO, logger="smart_app.ehr.client"):
        make_client().search("Patient", {"name": "Smithson", "birthdate": "1970-01-02"})
    lines = [r.getMessage() for r in caplog.records if r.name == "smart_app.ehr.client"]
    assert len(lines) == 2
    assert "GET Patient status=503" in lines[0] and "attempt=0" in lines[0]
    assert "GET Patient status=200" in lines[1] and "attempt=1" in lines[1]
    assert all("cid=cid-1" in line for line in lines)
    text = "\n".join(lines)
    for secret in (TOKEN, "Bearer", "Smithson", "1970-01-02", "127.0.0.1"):
        assert secret not in text


def test_a_failing_exchange_listener_never_fails_the_request(fhir_server, make_client, monkeypatch):
    seen = []

    def broken(exchange):
        seen.append((exchange.method, exchange.resource_type, exchange.status))
        raise RuntimeError("listener bug")

    monkeypatch.setattr(fhir, "_exchange_listeners", [broken])
    fhir_server.expect_request("/fhir/Patient/p1").respond_with_response(fhir_response({"resourceType": "Patient", "id": "p1"}))
    assert make_client().read("Patient", "p1")["id"] == "p1"
    assert seen == [("GET", "Patient", 200)]
