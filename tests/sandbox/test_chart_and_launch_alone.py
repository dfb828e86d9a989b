"""The chart's Answers column counts answers, and "Launch the app alone" asks the app for its patient banner."""
from __future__ import annotations

import re

import requests

from sandbox.shell.chart import answer_count
from tests.sandbox.oauth import query_of


def test_answer_count_counts_answered_questions_at_any_depth():
    items = [{"linkId": "g", "item": [{"linkId": "a", "answer": [{"valueInteger": 1}]},
                                      {"linkId": "b"},
                                      {"linkId": "c", "answer": [{"valueBoolean": True,
                                                                  "item": [{"linkId": "d", "answer": [{"valueString": "x"}]}]}]}]},
             {"linkId": "e", "answer": [{"valueInteger": 0}]}]
    assert answer_count(items) == 4


def test_the_chart_shows_a_number_of_answers_not_a_python_method(sandbox_server):
    patient = "pat-ana"
    sandbox_server.store.create({"resourceType": "QuestionnaireResponse", "status": "completed",
                                 "questionnaire": "http://example.org/Questionnaire/q|1", "subject": {"reference": f"Patient/{patient}"},
                                 "item": [{"linkId": "1", "answer": [{"valueInteger": 2}]}, {"linkId": "2", "answer": [{"valueInteger": 3}]}]})
    page = requests.get(f"{sandbox_server.base_url}/ehr/patient/{patient}", timeout=10).text
    panel = re.search(r'id="questionnaire-responses">.*?</table>', page, re.S).group(0)
    assert "built-in method" not in panel
    row = next(r for r in re.findall(r"<tr>(.*?)</tr>", panel, re.S) if "example.org/Questionnaire/q|1" in r)
    assert re.findall(r"<td>([^<]*)</td>", row)[-1] == "2"


def test_launch_alone_asks_for_the_patient_banner_and_the_chart_sidebar_does_not(sandbox_server):
    alone = requests.get(f"{sandbox_server.base_url}/ehr/launch/pat-ana", allow_redirects=False, timeout=10)
    launch = sandbox_server.auth.store.get_launch(query_of(alone.headers["Location"])["launch"])
    assert launch.need_patient_banner is True and launch.source == "ehr"
    chart = requests.get(f"{sandbox_server.base_url}/ehr/patient/pat-ana", timeout=10).text
    src = re.search(r'<iframe[^>]*src="([^"]+)"', chart).group(1).replace("&amp;", "&")
    assert sandbox_server.auth.store.get_launch(query_of(src)["launch"]).need_patient_banner is False
