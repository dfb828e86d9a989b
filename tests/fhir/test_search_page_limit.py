"""A search that reaches its page limit returns the pages it read and says it stopped; it never
turns "more data" into an error or into no data."""
from __future__ import annotations

import logging

from tests.fhir.conftest import fhir_response


def page(ids: list[str], next_url: str | None = None, total: int | None = None) -> dict:
    """A searchset page of Observations with an optional next link and total."""
    bundle: dict = {"resourceType": "Bundle", "type": "searchset", "link": [],
                    "entry": [{"resource": {"resourceType": "Observation", "id": i}, "search": {"mode": "match"}}
                              for i in ids]}
    if next_url:
        bundle["link"].append({"relation": "next", "url": next_url})
    if total is not None:
        bundle["total"] = total
    return bundle


def serve_endless(fhir_server) -> None:
    """Every page offers another one (page n links to n+1)."""
    def handler(request):
        n = int(request.args.get("n", "1"))
        return fhir_response(page([f"o{n}"], fhir_server.url_for(f"/fhir/Observation?n={n + 1}"), total=99))
    fhir_server.expect_request("/fhir/Observation").respond_with_handler(handler)


def test_a_search_at_its_page_limit_returns_the_pages_read_and_says_it_stopped(fhir_server, make_client):
    serve_endless(fhir_server)
    result = make_client(max_pages=3).search("Observation", {"patient": "p1"})
    assert [r["id"] for r in result] == ["o1", "o2", "o3"]
    assert result.truncated is True
    assert result.pages == 3
    assert result.total == 99
    assert len(fhir_server.log) == 3


def test_a_per_call_page_limit_overrides_the_clients(fhir_server, make_client):
    serve_endless(fhir_server)
    result = make_client(max_pages=10).search("Observation", {"patient": "p1"}, max_pages=1)
    assert [r["id"] for r in result.matches] == ["o1"]
    assert result.truncated is True
    assert len(fhir_server.log) == 1


def test_a_search_that_reads_the_last_page_is_not_truncated(fhir_server, make_client):
    fhir_server.expect_ordered_request("/fhir/Observation").respond_with_response(
        fhir_response(page(["o1"], fhir_server.url_for("/fhir/Observation?n=2"))))
    fhir_server.expect_ordered_request("/fhir/Observation").respond_with_response(fhir_response(page(["o2"])))
    result = make_client().search("Observation", {"patient": "p1"}, max_pages=2)
    assert [r["id"] for r in result] == ["o1", "o2"]
    assert result.truncated is False
    assert result.pages == 2


def test_stopping_at_the_limit_is_logged_with_ids_and_counts_only(fhir_server, make_client, caplog):
    serve_endless(fhir_server)
    caplog.set_level(logging.INFO, logger="smart_app.ehr.client")
    make_client(max_pages=2).search("Observation", {"patient": "secret-patient"})
    stopped = [r.getMessage() for r in caplog.records if "page limit" in r.getMessage()]
    assert len(stopped) == 1
    assert "type=Observation" in stopped[0] and "pages=2" in stopped[0]
    assert "secret-patient" not in stopped[0]
