"""A signed-in user cannot park large records: rescue copies are kept only for a form that exists, capped in size."""
from __future__ import annotations

import pytest

from smart_app.delivery.drafts import RESCUE_NAMESPACE
from smart_app.launch.runtime import EXTENSION
from tests.questionnaire_flow.flow import Browser, csrf


@pytest.fixture
def store_writes(e2e):
    """The namespaces the app's store is written to, in order (observed, not replaced)."""
    store = e2e.app.extensions[EXTENSION].store
    written: list[str] = []
    real_put = store.put

    def put(namespace, key, value, ttl):
        written.append(namespace)
        return real_put(namespace, key, value, ttl)

    store.put = put
    yield written
    store.put = real_put


def test_answers_posted_to_a_form_that_does_not_exist_leave_nothing(e2e, store_writes):
    browser = Browser(e2e.client, e2e.launcher.standalone())
    token = csrf(browser.get("").get_data(as_text=True))
    store_writes.clear()
    response = e2e.client.post(f"/l/{browser.handle}/questionnaires/no-such-form",
                               data={"q.x.r": "a" * 900_000, "action": "continue", "csrf_token": token})
    assert response.status_code == 404
    assert RESCUE_NAMESPACE not in store_writes


def test_an_oversized_post_to_a_real_form_is_not_kept_as_a_rescue_copy(e2e, store_writes):
    browser = Browser(e2e.client, e2e.launcher.standalone())
    page = browser.open_form("phq-9").get_data(as_text=True)
    store_writes.clear()
    browser.client.post(browser.url("questionnaires/phq-9"),
                        data={"q.x.r": "a" * 300_000, "action": "continue", "csrf_token": csrf(page)})
    assert RESCUE_NAMESPACE not in store_writes


def test_a_normal_post_to_a_real_form_is_rescued_first(e2e, store_writes):
    browser = Browser(e2e.client, e2e.launcher.standalone())
    page = browser.open_form("phq-9").get_data(as_text=True)
    store_writes.clear()
    browser.client.post(browser.url("questionnaires/phq-9"), data={"action": "continue", "csrf_token": csrf(page)})
    assert RESCUE_NAMESPACE in store_writes
