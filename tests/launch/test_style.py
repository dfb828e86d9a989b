"""The EHR's smart_style_url is fetched only from the launching EHR's origins, small, fast and with a bounded cache."""
from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import requests
from pytest_httpserver import HTTPServer
from werkzeug import Response

from smart_app.launch import style
from tests.fixtures.app import Launcher
from tests.fixtures.fake_ehr import token_response
from tests.fixtures.overlap import PATIENCE

STYLE = {"color_background": "#edeae3"}
APPLIED = "--sp-bg: #edeae3;"


@pytest.fixture(autouse=True)
def _empty_style_cache() -> Iterator[None]:
    """Each test starts and ends with no cached style sheets."""
    style._cache.clear()
    yield
    style._cache.clear()


@pytest.fixture
def elsewhere() -> Iterator[HTTPServer]:
    """Another origin (same host, other port): not the EHR unless registered as one of its frame ancestors."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    yield server
    server.stop()


def _style_css(client, launcher, url: str) -> str:
    """Launch with this smart_style_url and return the launch's style sheet."""
    handle, _ = launcher.ehr_launch(token=token_response(patient="p1", need_patient_banner=False, smart_style_url=url))
    response = client.get(f"/l/{handle}/style.css")
    assert response.status_code == 200 and response.mimetype == "text/css"
    return response.get_data(as_text=True)


def test_a_style_url_off_the_ehrs_origins_is_never_fetched(client, launcher, elsewhere):
    elsewhere.expect_request("/style.json").respond_with_json(STYLE)
    css = _style_css(client, launcher, elsewhere.url_for("/style.json"))
    assert APPLIED not in css
    assert elsewhere.log == []  # not even requested


def test_a_style_url_on_a_registered_frame_ancestor_of_this_ehr_is_used(make_app, fake_ehr, elsewhere):
    origin = elsewhere.url_for("/").rstrip("/")
    client = make_app(frame_ancestors=[origin]).test_client()
    elsewhere.expect_request("/style.json").respond_with_json(STYLE)
    assert APPLIED in _style_css(client, Launcher(client, fake_ehr), elsewhere.url_for("/style.json"))


def test_a_style_url_on_the_iss_origin_is_used(client, launcher, fake_ehr):
    fake_ehr.server.expect_request("/style.json").respond_with_json(STYLE)
    assert APPLIED in _style_css(client, launcher, fake_ehr.server.url_for("/style.json"))


def test_an_oversized_style_document_is_ignored(client, launcher, fake_ehr):
    fake_ehr.server.expect_request("/big.json").respond_with_json({**STYLE, "padding": "x" * style.MAX_BYTES})
    assert APPLIED not in _style_css(client, launcher, fake_ehr.server.url_for("/big.json"))


def test_a_slow_style_server_is_given_up_on_quickly(client, launcher, fake_ehr, monkeypatch):
    """The page's stylesheet comes back while the style server is still holding its answer."""
    monkeypatch.setattr(style, "TIMEOUT", (1, 0.3))
    server = HeldAnswer()
    fake_ehr.server.expect_request("/slow.json").respond_with_handler(
        server.handler(lambda: Response('{"color_background": "#edeae3"}', content_type="application/json")))
    handle, _ = launcher.ehr_launch(token=token_response(patient="p1", need_patient_banner=False,
                                                         smart_style_url=fake_ehr.server.url_for("/slow.json")))
    with server:
        css = client.get(f"/l/{handle}/style.css").get_data(as_text=True)
        # On a loaded machine the client's 0.3 s can run out before the server's handler has even started:
        # wait for the request to arrive rather than assume it already has.
        assert server.asked.wait(PATIENCE)
        assert server.order == ["asked"]  # the page was served before the style server answered
    assert APPLIED not in css


def test_the_style_cache_keeps_at_most_max_cached_urls(fake_ehr, monkeypatch):
    monkeypatch.setattr(style, "MAX_CACHED", 3)
    fake_ehr.server.expect_request("/style.json").respond_with_json(STYLE)
    allowed = style.allowed_style_origins(fake_ehr.base, ())
    urls = [fake_ehr.server.url_for(f"/style.json?v={i}") for i in range(5)]
    for url in urls:
        assert APPLIED in style.style_sheet(url, _session, allowed)
    assert list(style._cache) == urls[2:]  # the oldest two were evicted


def _session() -> requests.Session:
    """A plain session with the environment ignored, as the runtime provides."""
    session = requests.Session()
    session.trust_env = False
    return session


def test_a_style_body_that_stalls_after_the_headers_is_given_up_on(fake_ehr, monkeypatch):
    """A body that stops half way is abandoned while the server is still holding the rest."""
    monkeypatch.setattr(style, "TIMEOUT", (1, 0.3))
    server = HeldAnswer()

    def stalls():
        yield b'{"color_background": '
        server.hold()
        yield b'"#edeae3"}'

    fake_ehr.server.expect_request("/stall.json").respond_with_handler(
        lambda request: Response(stalls(), content_type="application/json"))
    allowed = style.allowed_style_origins(fake_ehr.base, ())
    with server:
        assert APPLIED not in style.style_sheet(fake_ehr.server.url_for("/stall.json"), _session, allowed)
        assert server.asked.wait(PATIENCE)  # the server got that far (a loaded machine may be slower than 0.3 s)
        assert server.order == ["asked"]  # given up on before the rest of the body was released


class HeldAnswer:
    """A style server that holds its answer until the test has seen the client give up.

    `order` records "asked" when the server starts holding and "answered" when it lets go, so the
    test proves by order (not by a clock) that the client stopped waiting first. Leaving the
    `with` block releases the server; the hold gives up by itself after `PATIENCE` (a hang guard).
    """

    def __init__(self) -> None:
        """Nothing asked yet; the answer is held."""
        self.order: list[str] = []
        self.asked = threading.Event()
        self._release = threading.Event()

    def hold(self) -> None:
        """Wait until released (or the hang guard fires), recording both ends."""
        self.order.append("asked")
        self.asked.set()
        self._release.wait(PATIENCE)
        self.order.append("answered")

    def handler(self, answer):
        """A pytest-httpserver handler that holds, then answers with `answer()`."""
        def handle(request):
            self.hold()
            return answer()
        return handle

    def __enter__(self) -> "HeldAnswer":
        """Hold answers while the block runs."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Let the server answer, so it can stop."""
        self._release.set()
