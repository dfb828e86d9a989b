"""Named fakes for the read-plan tests: CapabilityStatements and searchset pages as a FHIR server sends them."""
from __future__ import annotations

from typing import Any


def capability(*, batch: bool) -> dict:
    """A CapabilityStatement that does (or does not) declare the system `batch` interaction."""
    return {"resourceType": "CapabilityStatement", "status": "active", "kind": "instance", "fhirVersion": "4.0.1",
            "format": ["json"], "rest": [{"mode": "server", "interaction": [{"code": "batch"}] if batch else []}]}


def searchset(*resources: dict, next_url: str | None = None) -> dict:
    """One page of search results, linking the next page when there is one."""
    page: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset",
                            "entry": [{"resource": r, "search": {"mode": "match"}} for r in resources]}
    if next_url:
        page["link"] = [{"relation": "next", "url": next_url}]
    return page


def patient(pid: str) -> dict:
    """A minimal Patient."""
    return {"resourceType": "Patient", "id": pid}
