"""The catalog reads the EHR once per request, in one wave, and builds each form once per process."""
from __future__ import annotations

import copy
import threading
import time
from typing import Any, Callable

from smart_app import questionnaire_catalog
from smart_app.fhirjson import dumps
from smart_app.questionnaire_catalog import EHR_FORM_CACHE_SIZE, form_for
from smart_app.questionnaires.library import find, shared, shared_find
from tests.fixtures.e2e import PATIENT
from tests.questionnaire_flow.flow import Browser, phq9_answers

PHQ9 = "http://smart-previsit.example.org/fhir/Questionnaire/phq-9"


class Recorder:
    """WSGI wrapper around the sandbox: (path, start, end) of each request.

    Each request is held until no new request has arrived for `quiet` seconds. Reads sent in
    one wave all arrive while the first is still held, however slowly a loaded machine starts
    them; a read that waits for another can only arrive after that one has ended.
    """

    def __init__(self, app: Callable, quiet: float = 0.4) -> None:
        """Wrap the sandbox's WSGI app."""
        self.app, self.quiet, self.seen = app, quiet, []
        self.lock = threading.Lock()
        self.last_arrival = time.monotonic()

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        """Serve, hold until the wave is quiet, then record the request's interval."""
        started = time.monotonic()
        with self.lock:
            self.last_arrival = started
        body = list(self.app(environ, start_response))
        while (wait := self._last() + self.quiet - time.monotonic()) > 0:
            time.sleep(wait)
        with self.lock:
            self.seen.append((environ["PATH_INFO"], started, time.monotonic()))
        return body

    def _last(self) -> float:
        """When the latest request arrived."""
        with self.lock:
            return self.last_arrival

    def fhir(self, prefix: str = "/fhir/") -> list[tuple[str, float, float]]:
        """FHIR requests recorded so far."""
        return [s for s in self.seen if s[0].startswith(prefix)]


def _record(e2e) -> Recorder:
    """Start recording the sandbox's requests (after the launch)."""
    recorder = Recorder(e2e.sandbox.app.wsgi_app)
    e2e.sandbox.app.wsgi_app = recorder
    return recorder


def test_the_home_page_searches_questionnaires_and_responses_once_each_in_one_wave(e2e):
    handle = e2e.launcher.ehr(patient=PATIENT)
    recorder = _record(e2e)
    home = e2e.page(handle)
    assert home.status_code == 200
    paths = [p for p, _, _ in recorder.fhir()]
    assert paths.count("/fhir/Questionnaire") == 1
    # The questionnaire tasks share one response search (the medication review keeps its own).
    catalog_reads = [s for s in recorder.fhir() if s[0] in ("/fhir/Questionnaire", "/fhir/QuestionnaireResponse")]
    assert len([p for p, _, _ in catalog_reads if p == "/fhir/QuestionnaireResponse"]) <= 2
    # Every read starts before the first one ends: one parallel wave, no chain.
    first_end = min(end for _, _, end in recorder.fhir())
    assert all(start < first_end for _, start, _ in recorder.fhir())


def test_a_questionnaire_page_reads_catalog_and_patient_once_in_one_wave(e2e):
    handle = e2e.launcher.ehr(patient=PATIENT)
    recorder = _record(e2e)
    page = e2e.page(handle, "questionnaires/phq-9")
    assert page.status_code == 200
    assert "Ana" in page.get_data(as_text=True)  # the clinician sees whose form it is
    paths = [p for p, _, _ in recorder.fhir()]
    assert paths.count("/fhir/Questionnaire") == 1 and paths.count("/fhir/QuestionnaireResponse") == 1
    assert paths.count(f"/fhir/Patient/{PATIENT}") == 1
    first_end = min(end for _, _, end in recorder.fhir())
    assert all(start < first_end for _, start, _ in recorder.fhir())


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
    recorder = _record(e2e)
    assert e2e.page(handle, "questionnaires/previsit-intake").status_code == 200
    paths = [p for p, _, _ in recorder.fhir()]
    assert paths.count("/fhir/Observation") == 1 and paths.count("/fhir/Questionnaire") == 1
    first_end = min(end for _, _, end in recorder.fhir())
    assert all(start < first_end for _, start, _ in recorder.fhir())


def test_a_saved_draft_is_shown_without_searching_observations(e2e):
    browser = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT))
    browser.post_form("previsit-intake", {}, action="continue")
    recorder = _record(e2e)
    assert browser.open_form("previsit-intake").status_code == 200
    assert "/fhir/Observation" not in [p for p, _, _ in recorder.fhir()]
