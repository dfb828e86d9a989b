"""The CapabilityStatement: exactly what this server implements, plus SMART's oauth-uris extension."""
from __future__ import annotations

from typing import Any

from sandbox.fhir import search as fsearch

# Every type the server stores and serves.
SUPPORTED_TYPES: tuple[str, ...] = tuple(sorted({"Patient", *fsearch.SEARCH_PARAMS}))

_SEARCH_TYPE = {"token": "token", "reference": "reference", "date": "date", "string": "string",
                "uri": "uri", "canonical": "reference"}
_EXPAND = {"name": "expand", "definition": "http://hl7.org/fhir/OperationDefinition/ValueSet-expand"}
_OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"


def capability_statement(base_url: str, security_endpoints: dict[str, str] | None,
                         software_version: str = "0.1.0") -> dict[str, Any]:
    """Build the R4 CapabilityStatement for this server at base_url."""
    resources = []
    for type_ in SUPPORTED_TYPES:
        params = fsearch.params_for(type_)
        includes = [f"{type_}:{name}" for name, p in params.items() if p.kind == "reference"]
        resources.append({
            "type": type_,
            "versioning": "versioned-update",
            "readHistory": True,
            "updateCreate": True,
            "conditionalCreate": True,
            "conditionalUpdate": False,
            "conditionalDelete": "not-supported",
            "interaction": [{"code": c} for c in
                            ("read", "vread", "create", "update", "delete", "search-type")],
            "searchInclude": includes,
            "searchParam": [{"name": name, "type": _SEARCH_TYPE[p.kind]} for name, p in sorted(params.items())],
            **({"operation": [_EXPAND]} if type_ == "ValueSet" else {}),
        })
    security: dict[str, Any] = {
        "cors": True,
        "service": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                 "code": "SMART-on-FHIR"}], "text": "OAuth2 using SMART-on-FHIR profile"}],
    }
    if security_endpoints:
        security["extension"] = [{
            "url": _OAUTH_URIS,
            "extension": [{"url": key, "valueUri": value} for key, value in security_endpoints.items()],
        }]
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-01-01",
        "kind": "instance",
        "software": {"name": "SMART Pre-Visit sandbox FHIR server", "version": software_version},
        "implementation": {"description": "Strict offline sandbox EHR", "url": base_url},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [{
            "mode": "server",
            "security": security,
            "resource": resources,
            "interaction": [{"code": "transaction"}, {"code": "batch"}],
            "searchParam": [{"name": "_count", "type": "number"}, {"name": "_sort", "type": "string"},
                            {"name": "_include", "type": "special"}, {"name": "_revinclude", "type": "special"},
                            {"name": "_summary", "type": "token"}],
        }],
    }
