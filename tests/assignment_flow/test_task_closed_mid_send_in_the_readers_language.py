"""When the care team closes the assigned Task while a send is under way, the receipt says so in the
reader's language at display time: the stored record keeps a flag (a message key), never English."""
from __future__ import annotations

import re
from html import unescape

from smart_app.delivery import submission
from tests.questionnaire_flow.flow import Browser, csrf

from .helpers import CLINIC_FORM, SAM, SORE_THROAT_ANSWERS, task

SPANISH = ("Su equipo de atención cerró esta solicitud mientras usted respondía, así que sus respuestas no se enviaron.",
           "No necesita enviarlas. Si aun así quiere que su equipo de atención las vea, comuníquese con ellos.")
ENGLISH = (submission.TASK_CLOSED, submission.TASK_CLOSED_NEXT)


def _text(page: str) -> str:
    """The page's text, without tags."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", page)))


def _closed_mid_send(e2e) -> tuple[Browser, str]:
    """SAM sends the assigned form; the EHR is busy (kept pending); the care team then cancels the Task;
    the retry finds it closed. Returns (browser, submission id)."""
    browser = Browser(e2e.client, e2e.launcher.standalone(login=f"Patient/{SAM}"))
    assert browser.post_form(CLINIC_FORM, SORE_THROAT_ANSWERS).status_code == 303
    html, sid = browser.review(CLINIC_FORM)
    e2e.sandbox.set_fault("fail_writes", status=503, retry_after=120, count=1)
    assert browser.client.post(browser.url(f"questionnaires/{CLINIC_FORM}/send"),
                               data={"submission_id": sid, "csrf_token": csrf(html)}).status_code == 303
    e2e.sandbox.store.update({**task(e2e.sandbox, "task-sam-throat"), "status": "cancelled"})
    receipt = browser.get(f"submissions/{sid}").get_data(as_text=True)
    assert browser.client.post(browser.url(f"submissions/{sid}/retry"),
                               data={"csrf_token": csrf(receipt)}).status_code == 303
    return browser, sid


def test_the_task_closed_mid_send_message_is_said_in_spanish_at_display(e2e) -> None:
    browser, sid = _closed_mid_send(e2e)
    english = _text(browser.get(f"submissions/{sid}").get_data(as_text=True))
    assert all(text in english for text in ENGLISH)
    e2e.client.get("/language/es", query_string={"next": "/"})  # the same record, read in Spanish
    spanish = _text(browser.get(f"submissions/{sid}").get_data(as_text=True))
    assert all(text in spanish for text in SPANISH), spanish
    assert not any(text in spanish for text in ENGLISH)

