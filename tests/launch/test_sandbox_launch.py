"""The launch layer against the real offline sandbox (no fakes): both launch modes, two tabs, end session."""
from __future__ import annotations

import re

from tests.fixtures.e2e import OTHER_PATIENT, PATIENT


def test_two_tabs_in_one_browser_keep_their_own_patient(e2e):
    # Standalone patient launches show the banner, so each page names its patient.
    ana = e2e.launcher.standalone(login=f"Patient/{PATIENT}")
    ben = e2e.launcher.standalone(login=f"Patient/{OTHER_PATIENT}")
    for _ in range(2):  # interleaved, repeatedly
        page_ana, page_ben = e2e.page(ana), e2e.page(ben)
        assert page_ana.status_code == 200 and page_ben.status_code == 200
        assert "Pereira" in page_ana.get_data(as_text=True) and "Okafor" not in page_ana.get_data(as_text=True)
        assert "Okafor" in page_ben.get_data(as_text=True) and "Pereira" not in page_ben.get_data(as_text=True)


def test_two_ehr_tabs_keep_their_own_patient_context(e2e):
    from smart_app.launch.records import read_launch
    from smart_app.launch.runtime import EXTENSION

    ana = e2e.launcher.ehr(patient=PATIENT)
    ben = e2e.launcher.ehr(patient=OTHER_PATIENT)
    assert e2e.page(ana).status_code == 200 and e2e.page(ben).status_code == 200
    store = e2e.app.extensions[EXTENSION].store
    assert read_launch(store, ana)["context"]["patient_id"] == PATIENT
    assert read_launch(store, ben)["context"]["patient_id"] == OTHER_PATIENT


def test_standalone_patient_launch_reaches_the_home_page(e2e):
    handle = e2e.launcher.standalone()
    html = e2e.page(handle).get_data(as_text=True)
    assert "as the patient" in html
    assert "Pereira" in html  # the banner


def test_a_handle_does_not_work_in_another_browser(e2e):
    handle = e2e.launcher.ehr(patient=PATIENT)
    other = e2e.new_browser()
    other.get("/")
    assert e2e.page(handle, client=other).status_code == 401


def test_end_session_then_relaunch(e2e):
    handle = e2e.launcher.ehr(patient=PATIENT)
    html = e2e.page(handle).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    assert e2e.client.post(f"/l/{handle}/end", data={"csrf_token": token}).status_code == 200
    assert e2e.page(handle).status_code == 401
    again = e2e.launcher.ehr(patient=PATIENT)
    assert again != handle and e2e.page(again).status_code == 200
