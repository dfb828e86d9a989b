"""The clinician's sidebar home: the safety flag first, then the score with its change, vitals, medicines, tasks."""
from __future__ import annotations

import re
from typing import Any, Callable

from tests.fixtures.e2e import PATIENT
from tests.fixtures.fhir_reads import reads_of
from tests.questionnaire_flow.flow import Browser, intake_answers, phq9_answers

EARLIER = [1, 1, 1, 1, 1, 0, 0, 0, 0]      # 5: mild, question 9 "Not at all"
NOW = [1, 1, 1, 1, 1, 1, 1, 1, 1]          # 9: mild, question 9 "Several days"


class Counter:
    """WSGI wrapper counting the sandbox's FHIR requests by path."""

    def __init__(self, app: Callable) -> None:
        """Wrap the sandbox app."""
        self.app, self.paths, self.queries = app, [], []

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        """Record the path of each read (a batch's entries one by one), then serve."""
        for _, path, query in reads_of(environ):
            self.paths.append(path)
            self.queries.append((path, query))
        return self.app(environ, start_response)


def patient_sent_twice(e2e) -> None:
    """The patient sent PHQ-9 twice (5, then 9 with question 9 positive) and the intake with a high BP."""
    own = e2e.new_browser()
    patient = Browser(own, e2e.launcher.standalone(login=f"Patient/{PATIENT}", client=own))
    patient.fill_and_send("phq-9", phq9_answers(EARLIER))
    patient.fill_and_send("phq-9", phq9_answers(NOW))
    patient.fill_and_send("previsit-intake", intake_answers(systolic="150", diastolic="95", weight="71"))


def text_of(html: str) -> str:
    """The page's words in order."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_flag_comes_first_then_the_score_with_its_change(e2e):
    patient_sent_twice(e2e)
    clinician = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT))
    page = text_of(clinician.get("").get_data(as_text=True))
    flags, reported, medicines = (page.index("Safety flags"), page.index("Reported for this visit"),
                                  page.index("Medication differences"))
    assert flags < reported < medicines < page.index("Pre-visit tasks")
    assert page.index("Safety flags") < page.index("This visit") if "This visit" in page else True
    assert "Thoughts of self-harm or of being better off dead (PHQ-9 question 9)" in page
    assert "9. Thoughts that you would be better off dead, or of hurting yourself in some way: Several days" in page
    assert re.search(r"PHQ-9 : 9 of 27 , Mild depression \(up 4 since \d{1,2} \w+ \d{4}\)", page)
    assert "Systolic (top number) : 150" in page and "Weight : 71 kg" in page


def test_each_flag_links_to_the_full_answers(e2e):
    patient_sent_twice(e2e)
    clinician = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT))
    html = clinician.get("").get_data(as_text=True)
    link = re.search(r'<a class="flag-title" href="([^"]+)"', html).group(1)
    answers = e2e.client.get(link)
    assert answers.status_code == 200 and "Several days" in answers.get_data(as_text=True)


def test_the_summary_adds_no_request_of_its_own(e2e):
    patient_sent_twice(e2e)
    clinician = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT))
    counter = Counter(e2e.sandbox.app.wsgi_app)
    e2e.sandbox.app.wsgi_app = counter
    try:
        assert clinician.get("").status_code == 200
    finally:
        e2e.sandbox.app.wsgi_app = counter.app
    searches = [q for p, q in counter.queries if p == "/fhir/QuestionnaireResponse"]
    # The catalog's one search of completed responses (earlier ones included) and the medication
    # module's latest-review search: the summary reads nothing of its own.
    assert len(searches) == 2
    assert len([q for q in searches if "questionnaire=" not in q]) == 1


def test_a_patient_home_has_no_clinician_summary(e2e):
    patient_sent_twice(e2e)
    patient = Browser(e2e.client, e2e.launcher.standalone(login=f"Patient/{PATIENT}"))
    page = patient.get("").get_data(as_text=True)
    assert "Safety flags" not in page and "Reported for this visit" not in page
