"""The "cookies blocked" page only when the callback really came inside a frame; top level without a cookie is told to start again."""
from __future__ import annotations

import pytest


@pytest.mark.parametrize("dest, launch, blocked", [
    ("iframe", "launch-123", True),   # the EHR sidebar: the browser blocked the frame's cookie
    ("iframe", None, True),
    ("document", "launch-123", False),  # top level: the cookie is missing, not blocked
    ("document", None, False),
    (None, "launch-123", True),        # no Sec-Fetch-Dest (older browser): an EHR launch is framed
    (None, None, False),
])
def test_cookie_message_depends_on_where_the_callback_was_loaded(app, launcher, fake_ehr, dest, launch, blocked):
    auth = launcher.authorize(launch=launch)
    cookieless = app.test_client(use_cookies=False)
    headers = {"Sec-Fetch-Dest": dest} if dest else {}
    response = cookieless.get("/callback", query_string={"code": "c", "state": auth.state}, headers=headers)
    html = response.get_data(as_text=True)
    assert "Location" not in response.headers and fake_ehr.token_requests() == []
    if blocked:
        assert response.status_code == 400 and "COOKIES_BLOCKED" in html and 'target="_blank"' in html
    else:
        assert response.status_code == 401 and "COOKIES_BLOCKED" not in html and "LAUNCH_EXPIRED" in html
        assert "blocks its cookie" not in html
