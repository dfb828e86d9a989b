"""The browser-session store never holds the cookie value as a key: a store dump reveals no live session."""
from __future__ import annotations

import pytest
import redis

from smart_app import create_app
from tests.fixtures.app import Launcher, registration


def test_the_filesystem_store_has_no_entry_under_the_cookie_value_yet_the_session_works(app, client, fake_ehr):
    # A full launch needs the browser's session (its id binds state and launch) to be found again.
    handle, _ = Launcher(client, fake_ehr).ehr_launch()
    cookie = client.get_cookie("smart_previsit").value
    assert app.session_interface.cache.get("browser:" + cookie) is None
    assert client.get(f"/l/{handle}/style.css").status_code == 200  # and the launch is this browser's


@pytest.mark.redis
def test_redis_keys_do_not_reveal_session_cookies(redis_url, tmp_path, fake_ehr, client_key_paths):
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"), "SECRET_KEY": "test-secret",
                      "SESSION_REDIS_URL": redis_url, "REGISTRATION": registration(fake_ehr.base), **client_key_paths})
    browser = app.test_client()
    handle, _ = Launcher(browser, fake_ehr).ehr_launch()
    cookie = browser.get_cookie("smart_previsit").value
    client = redis.Redis.from_url(redis_url)
    try:
        keys = client.keys("*")
        assert len([k for k in keys if b"browser:" in k]) == 1  # the session is in Redis...
        assert not [k for k in keys if cookie.encode() in k]  # ...but not under its cookie value
    finally:
        client.close()
    assert browser.get(f"/l/{handle}/style.css").status_code == 200
