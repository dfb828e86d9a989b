"""A named fake of an EHR without transactions that holds one SDC Task (pytest-httpserver handlers).

Versioned like a strict R4 server: a PUT whose If-Match names an older version gets 412;
creates honour If-None-Exist. Only the network boundary is faked; the app is the real one.
"""
from __future__ import annotations

import json
from typing import Any

from werkzeug import Request, Response

from smart_app.assignments.model import COMPLETE_QUESTIONNAIRE, INPUT_QUESTIONNAIRE, SDC_TASK_CODE_SYSTEM
from tests.fixtures.fake_ehr import FakeEhr

CLINIC_URL = "https://clinic.example/Questionnaire/mood-check"
CLINIC_FORM = {"resourceType": "Questionnaire", "id": "mood-check", "url": CLINIC_URL, "version": "3",
               "status": "active", "title": "Mood check",
               "item": [{"linkId": "mood", "text": "How is your mood today?", "type": "string", "required": True}]}
# Create QuestionnaireResponse (not read: drafts stay in the app), read and update Task, no transaction.
SCOPE = ("launch openid fhirUser patient/Patient.r patient/Questionnaire.rs patient/QuestionnaireResponse.c "
         "patient/Observation.c patient/Provenance.c patient/Task.rus")
FHIR_JSON = "application/fhir+json"


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers or {}, content_type=FHIR_JSON)


class TaskEhr:
    """One patient's Task `t1` asking for the clinic's mood check, plus conditional creates."""

    def __init__(self, ehr: FakeEhr, *, status: str = "requested", transactions: bool = False) -> None:
        """Install the handlers on the fake EHR."""
        self.ehr = ehr
        self.version = 1
        self.task: dict[str, Any] = {
            "resourceType": "Task", "id": "t1", "status": status, "intent": "order",
            "code": {"coding": [{"system": SDC_TASK_CODE_SYSTEM, "code": COMPLETE_QUESTIONNAIRE}]},
            "for": {"reference": "Patient/p1"}, "requester": {"reference": "Practitioner/d1", "display": "Dr Adeyemi"},
            "restriction": {"period": {"end": "2030-01-14"}},
            "input": [{"type": {"coding": [{"system": SDC_TASK_CODE_SYSTEM, "code": INPUT_QUESTIONNAIRE}]},
                       "valueCanonical": f"{CLINIC_URL}|3"}]}
        self.writes: list[tuple[str, str, str | None, dict]] = []  # (method, type, If-Match / If-None-Exist, body)
        self.created: dict[str, dict] = {}
        self.refuse_next_put_as_changed = False
        self.transactions: list[dict] = []  # every transaction Bundle received
        self.reads = 0
        self.stale: tuple[int, dict] | None = None  # (read number, the Task as it was): a read that raced a change
        self.stale_search: dict | None = None  # the Task as it was, for the next search that finds it
        self.task_searches = 0
        capabilities = {"resourceType": "CapabilityStatement", "status": "active", "kind": "instance",
                        "fhirVersion": "4.0.1", "format": ["json"], "rest": [{"mode": "server",
                        **({"interaction": [{"code": "transaction"}]} if transactions else {}), "resource": [
                            {"type": t, "interaction": [{"code": "create"}, {"code": "read"}, {"code": "update"}],
                             "conditionalCreate": True} for t in ("QuestionnaireResponse", "Observation",
                                                                  "Provenance", "Task")]}]}
        # serve_search re-serves discovery (clearing every handler), so it goes first.
        ehr.serve_search("Task", self._search_tasks)
        ehr.serve_search("Questionnaire", self._search_questionnaires)
        ehr.server.expect_request("/fhir/metadata").respond_with_json(capabilities)
        ehr.respond_with("/fhir/Task/t1", self._read_task)
        ehr.respond_with("/fhir/Task/t1", self._put_task, method="PUT")
        for type_ in ("QuestionnaireResponse", "Observation", "Provenance"):
            ehr.respond_with(f"/fhir/{type_}", self._create, method="POST")
        if transactions:
            ehr.respond_with("/fhir", self._transaction, method="POST")

    def current(self) -> dict[str, Any]:
        """The Task as stored now, with its version."""
        return {**self.task, "meta": {"versionId": str(self.version)}}

    def change_elsewhere(self, **fields: Any) -> None:
        """Someone else updates the Task (a new version)."""
        self.task.update(fields)
        self.version += 1

    @staticmethod
    def _bundle(resources: list[dict]) -> dict:
        return {"resourceType": "Bundle", "type": "searchset", "total": len(resources),
                "entry": [{"resource": r} for r in resources]}

    def _search_tasks(self, request: Request) -> Response:
        self.task_searches += 1
        wanted = request.args.get("status", "").split(",")
        if self.stale_search is not None and self.stale_search["status"] in wanted:
            found, self.stale_search = [self.stale_search], None
            return _json(self._bundle(found))
        found = [self.current()] if self.task["status"] in wanted else []
        return _json(self._bundle(found))

    def _search_questionnaires(self, request: Request) -> Response:
        urls = request.args.get("url", "").split(",")
        return _json(self._bundle([CLINIC_FORM] if CLINIC_URL in urls else []))

    def change_after_read(self, read_number: int, **fields: Any) -> None:
        """Someone else changes the Task right after the app's read number `read_number` (which sees the old one)."""
        self.stale = (read_number, self.current())
        self.change_elsewhere(**fields)

    def change_after_next_search(self, **fields: Any) -> None:
        """Someone else changes the Task right after the app's next search finds it (which sees the old one)."""
        self.stale_search = self.current()
        self.change_elsewhere(**fields)

    def _read_task(self, request: Request) -> Response:
        self.reads += 1
        if self.stale and self.stale[0] == self.reads:
            return _json(self.stale[1])
        return _json(self.current(), headers={"ETag": f'W/"{self.version}"'})

    def _put_task(self, request: Request) -> Response:
        body = json.loads(request.get_data())
        if_match = request.headers.get("If-Match")
        self.writes.append(("PUT", "Task", if_match, body))
        if self.refuse_next_put_as_changed:
            self.refuse_next_put_as_changed = False
            self.change_elsewhere(lastModified="2030-01-01T00:00:00Z")
        if if_match != f'W/"{self.version}"':
            return _json({"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "conflict"}]},
                         status=412)
        self.task = {k: v for k, v in body.items() if k != "meta"}
        self.version += 1
        return _json(self.current(), headers={"ETag": f'W/"{self.version}"',
                                              "Location": f"{self.ehr.base}/Task/t1/_history/{self.version}"})

    def _transaction(self, request: Request) -> Response:
        """All or nothing: conditional creates, then the Task PUT checked against If-Match; 412 undoes it all."""
        bundle = json.loads(request.get_data())
        self.transactions.append(bundle)
        created_before = dict(self.created)
        ids: dict[str, str] = {}
        answers = []
        for entry in bundle["entry"]:
            resource, req = entry["resource"], entry["request"]
            if req["method"] == "POST":
                condition = req.get("ifNoneExist")
                found = self.created.get(condition)
                if found is None:
                    found = {**resource, "id": str(len(self.created) + 1)}
                    self.created[condition] = found
                ids[entry["fullUrl"]] = f"{found['resourceType']}/{found['id']}"
                answers.append({"response": {"status": "201 Created", "location": f"{ids[entry['fullUrl']]}/_history/1"}})
        for entry in bundle["entry"]:
            resource, req = entry["resource"], entry["request"]
            if req["method"] == "PUT":
                assert req["url"] == "Task/t1"
                if req.get("ifMatch") != f'W/"{self.version}"':
                    self.created = created_before
                    return _json({"resourceType": "OperationOutcome", "issue": [{"severity": "error",
                                                                                  "code": "conflict"}]}, status=412)
                text = json.dumps(resource)
                for urn, ref in ids.items():
                    text = text.replace(urn, ref)
                self.task = {k: v for k, v in json.loads(text).items() if k != "meta"}
                self.version += 1
                answers.append({"response": {"status": "200 OK", "location": f"Task/t1/_history/{self.version}"}})
        return _json({"resourceType": "Bundle", "type": "transaction-response", "entry": answers})

    def _create(self, request: Request) -> Response:
        resource = json.loads(request.get_data())
        condition = request.headers.get("If-None-Exist")
        self.writes.append(("POST", resource["resourceType"], condition, resource))
        if condition in self.created:
            found = self.created[condition]
            return _json(found, status=200, headers={"Location": f"{self.ehr.base}/{found['resourceType']}/{found['id']}/_history/1"})
        resource["id"] = str(len(self.created) + 1)
        self.created[condition or resource["id"]] = resource
        return _json(resource, status=201,
                     headers={"Location": f"{self.ehr.base}/{resource['resourceType']}/{resource['id']}/_history/1"})
