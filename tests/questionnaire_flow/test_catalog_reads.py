"""The catalog reads the EHR once per request, in one wave, and builds each form once per process."""
from __future__ import annotations

import copy
from typing import Any, Callable

from smart_app.forms import catalog as questionnaire_catalog
from smart_app.ehr.fhirjson import dumps
from smart_app.forms.catalog import EHR_FORM_CACHE_SIZE, form_for
from smart_app.forms.library import find, shared, shared_find
from tests.fixtures.e2e import PATIENT
from tests.fixtures.fhir_reads import CAPABILITY, reads_of
from tests.fixtures.overlap import Rendezvous
from tests.questionnaire_flow.flow import Browser, phq9_answers

PHQ9 = "http://smart-previsit.example.org/fhir/Questionnaire/phq-9"


class Wave:
    """WSGI wrapper around the sandbox: records each FHIR read and proves the reads form one wave.

    Every FHIR request is held until `size` of them are in at once (a `Rendezvous`). Reads sent in
    one wave all meet, however slowly a loaded machine starts them; a read that waits for another
    can only arrive after that one was answered, so the wave never fills and the meeting is missed.
    A batch is one request whose entries are its reads.
    """

    def __init__(self, app: Callable, size: int) -> None:
        """Wrap the sandbox's WSGI app, expecting a wave of `size` FHIR requests."""
        self.app, self.paths, self.requests = app, [], 0
        self.together = Rendezvous(size)

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        """Record the reads, meet the rest of the wave, then serve."""
        if environ["PATH_INFO"].startswith("/fhir/") or environ["PATH_INFO"] == "/fhir":
            self.paths.extend(path for _, path, _ in reads_of(environ))
            self.requests += 1
            self.together.arrive()
        return self.app(environ, start_response)

    def was_one_wave_of(self, expected: list[str]) -> bool:
        """Exactly the expected reads were sent, all in flight together."""
        return sorted(self.paths) == sorted(expected) and \
            (self.together.met, self.together.missed) == (self.requests, 0)


def _record(e2e, expected: list[str], requests: int | None = None) -> Wave:
    """Start holding the sandbox's FHIR requests (after the launch) until `requests` of them meet
    (default: one GET per expected read, as on the first page, before the app knows the sandbox batches)."""
    wave = Wave(e2e.sandbox.app.wsgi_app, len(expected) if requests is None else requests)
    e2e.sandbox.app.wsgi_app = wave
    return wave


ENCOUNTER = "/fhir/Encounter/enc-ana-visit"


def test_the_home_page_searches_questionnaires_and_responses_once_each_in_one_wave(e2e):
    """One Questionnaire search, one response search per task kind, medications, the encounter: together."""
    handle = e2e.launcher.ehr(patient=PATIENT)
    expected = [ENCOUNTER, "/fhir/MedicationRequest", "/fhir/MedicationStatement", "/fhir/Questionnaire",
                # The questionnaire tasks share one response search (the medication review keeps its own).
                "/fhir/QuestionnaireResponse", "/fhir/QuestionnaireResponse",
                # Assigned forms and the visit (issue 10): open and recently closed Tasks, the next Appointment.
                "/fhir/Task", "/fhir/Task", "/fhir/Appointment",
                CAPABILITY]  # the first page learns, in the same wave, whether the sandbox takes batches
    wave = _record(e2e, expected)
    assert e2e.page(handle).status_code == 200
    assert wave.was_one_wave_of(expected), (wave.paths, wave.together.met, wave.together.missed)


def test_the_next_home_page_sends_the_same_reads_as_one_batch(e2e):
    handle = e2e.launcher.ehr(patient=PATIENT)
    assert e2e.page(handle).status_code == 200  # learns that the sandbox declares batch
    expected = [ENCOUNTER, "/fhir/MedicationRequest", "/fhir/MedicationStatement", "/fhir/Questionnaire",
                "/fhir/QuestionnaireResponse", "/fhir/QuestionnaireResponse", "/fhir/Task", "/fhir/Task",
                "/fhir/Appointment"]
    wave = _record(e2e, expected, requests=1)
    assert e2e.page(handle).status_code == 200
    assert wave.was_one_wave_of(expected) and wave.requests == 1, (wave.paths, wave.requests)


def test_a_questionnaire_page_reads_catalog_and_patient_once_in_one_wave(e2e):
    handle = e2e.launcher.ehr(patient=PATIENT)
    expected = [ENCOUNTER, f"/fhir/Patient/{PATIENT}", "/fhir/Questionnaire", "/fhir/QuestionnaireResponse",
                "/fhir/Task", "/fhir/Task", "/fhir/Appointment", CAPABILITY]
    wave = _record(e2e, expected)
    page = e2e.page(handle, "questionnaires/phq-9")
    assert page.status_code == 200
    assert "Ana" in page.get_data(as_text=True)  # the clinician sees whose form it is
    assert wave.was_one_wave_of(expected), (wave.paths, wave.together.met, wave.together.missed)


def test_bundled_forms_are_built_once_and_the_library_is_never_changed(e2e):
    before = dumps(list(shared()))
    browser = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT))
    library_phq9 = shared_find(PHQ9)
    assert form_for(library_phq9) is form_for(library_phq9)
    browser.fill_and_send("phq-9", phq9_answers([1, 2, 0, 1, 3, 0, 1, 2, 0]))
    browser.open_form("gad-7")
    assert dumps(list(shared())) == before
    assert find(PHQ9) is not library_phq9 and find(PHQ9) == library_phq9  # callers who modify get copies


def test_ehr_forms_are_cached_by_version_and_rebuilt_when_the_content_changes():
    questionnaire_catalog.clear_form_cache()
    ehr = copy.deepcopy(shared_find(PHQ9))
    ehr["id"] = "ehr-phq9"
    first = form_for(ehr, "https://ehr.example/fhir")
    assert form_for(copy.deepcopy(ehr), "https://ehr.example/fhir") is first  # same content, no versionId: hash
    assert form_for(copy.deepcopy(ehr), "https://other.example/fhir") is not first  # another server
    changed = copy.deepcopy(ehr)
    changed["item"][0]["text"] = "Changed question"
    assert form_for(changed, "https://ehr.example/fhir").items[0].text == "Changed question"
    versioned = dict(copy.deepcopy(ehr), meta={"versionId": "7"})
    built = form_for(versioned, "https://ehr.example/fhir")
    assert form_for(dict(copy.deepcopy(ehr), meta={"versionId": "7"}), "https://ehr.example/fhir") is built
    assert form_for(dict(copy.deepcopy(ehr), meta={"versionId": "8"}), "https://ehr.example/fhir") is not built


def test_the_ehr_form_cache_is_bounded():
    questionnaire_catalog.clear_form_cache()
    base = copy.deepcopy(shared_find(PHQ9))
    for n in range(EHR_FORM_CACHE_SIZE + 10):
        form_for(dict(base, id=f"q{n}", meta={"versionId": "1"}), "https://ehr.example/fhir")
    assert len(questionnaire_catalog._ehr_forms) == EHR_FORM_CACHE_SIZE


def test_a_first_visit_to_a_prefilled_form_searches_observations_in_the_same_wave(e2e):
    handle = e2e.launcher.ehr(patient=PATIENT)
    expected = [ENCOUNTER, "/fhir/Observation", f"/fhir/Patient/{PATIENT}", "/fhir/Questionnaire",
                "/fhir/QuestionnaireResponse", "/fhir/Task", "/fhir/Task", "/fhir/Appointment", CAPABILITY]
    wave = _record(e2e, expected)
    assert e2e.page(handle, "questionnaires/previsit-intake").status_code == 200
    assert wave.was_one_wave_of(expected), (wave.paths, wave.together.met, wave.together.missed)


def test_a_saved_draft_is_shown_without_searching_observations(e2e):
    browser = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT))
    browser.post_form("previsit-intake", {}, action="continue")
    seen: list[str] = []
    app = e2e.sandbox.app.wsgi_app

    def record(environ, start_response):
        seen.append(environ["PATH_INFO"])
        return app(environ, start_response)

    e2e.sandbox.app.wsgi_app = record
    assert browser.open_form("previsit-intake").status_code == 200
    assert seen and "/fhir/Observation" not in seen
