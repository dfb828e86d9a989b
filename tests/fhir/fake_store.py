"""A named fake of a FHIR server's write side: conditional create on identifier or _tag.

It answers transactions and single creates the way a strict R4 server does, so tests can
prove "exactly one stored" after retries. Only the network boundary is faked.
"""
from __future__ import annotations

import itertools
import json
import re
from urllib.parse import parse_qsl, unquote

from werkzeug.wrappers import Request, Response

from tests.fhir.conftest import FHIR_JSON


class ConditionalStore:
    """In-memory resources keyed by type; conditional create matches identifier or _tag tokens."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.resources: dict[str, dict[str, dict]] = {}
        self._ids = itertools.count(1)

    def of_type(self, resource_type: str) -> list[dict]:
        """Stored resources of one type."""
        return list(self.resources.get(resource_type, {}).values())

    def _matches(self, resource: dict, query: str) -> bool:
        """True when `resource` satisfies an `identifier=` or `_tag=` token query."""
        for name, value in parse_qsl(query):
            system, _, code = value.partition("|")
            system, code = unquote(system), unquote(code)
            if name == "identifier":
                idents = resource.get("identifier") or []
                idents = [idents] if isinstance(idents, dict) else idents
                if not any(i.get("system") == system and i.get("value") == code for i in idents):
                    return False
            elif name == "_tag":
                tags = (resource.get("meta") or {}).get("tag") or []
                if not any(t.get("system") == system and t.get("code") == code for t in tags):
                    return False
            else:
                raise ValueError(f"fake store does not search on {name}")
        return True

    def conditional_create(self, resource: dict, if_none_exist: str | None) -> tuple[int, dict]:
        """Create unless a match exists; returns (status, stored resource)."""
        resource_type = resource["resourceType"]
        if if_none_exist:
            found = [r for r in self.of_type(resource_type) if self._matches(r, if_none_exist)]
            if len(found) > 1:
                raise AssertionError("duplicates already stored")
            if found:
                return 200, found[0]
        stored = {**resource, "id": str(next(self._ids)), "meta": {**resource.get("meta", {}), "versionId": "1"}}
        self.resources.setdefault(resource_type, {})[stored["id"]] = stored
        return 201, stored

    def transaction(self, bundle: dict) -> dict:
        """Process a transaction Bundle of POSTs, resolving urn:uuid references to new ids."""
        assigned: dict[str, str] = {}
        replies = []
        staged = []
        for entry in bundle["entry"]:
            resource, request = entry["resource"], entry["request"]
            assert request["method"] == "POST" and request["url"] == resource["resourceType"]
            status, stored = self.conditional_create(resource, request.get("ifNoneExist"))
            assigned[entry["fullUrl"]] = f"{stored['resourceType']}/{stored['id']}"
            staged.append(stored if status == 201 else None)
            replies.append({"response": {
                "status": "201 Created" if status == 201 else "200 OK",
                "location": f"{stored['resourceType']}/{stored['id']}/_history/1",
                "lastModified": "2026-01-01T00:00:00Z"}})
        for stored in filter(None, staged):
            text = json.dumps(stored)
            for urn, ref in assigned.items():
                text = text.replace(f'"{urn}"', f'"{ref}"')
            self.resources[stored["resourceType"]][stored["id"]] = json.loads(text)
        return {"resourceType": "Bundle", "type": "transaction-response", "entry": replies}

    def handle_transaction(self, request: Request) -> Response:
        """pytest-httpserver handler for POST [base]."""
        return Response(json.dumps(self.transaction(json.loads(request.data))), status=200, content_type=FHIR_JSON)

    def handle_create(self, request: Request) -> Response:
        """pytest-httpserver handler for POST [base]/Type."""
        resource = json.loads(request.data)
        status, stored = self.conditional_create(resource, request.headers.get("If-None-Exist"))
        location = f"{self.base_url}/{stored['resourceType']}/{stored['id']}/_history/1"
        return Response(json.dumps(stored), status=status, content_type=FHIR_JSON, headers={"Location": location})

    def refs_are_resolved(self) -> bool:
        """True when no stored resource still holds a urn:uuid reference."""
        return not re.search(r'"urn:uuid:', json.dumps(self.resources))
