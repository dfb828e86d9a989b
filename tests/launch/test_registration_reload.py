"""launch.json is re-read when it changes (looked at every few seconds) or on request (SIGHUP), keeping the last good one."""
from __future__ import annotations

import json
import logging
import os

from smart_app.config import load_settings
from smart_app.launch.runtime import Registration
from tests.fixtures.app import registration


def _write(path, doc) -> None:
    """Write the file with a fresh mtime."""
    path.write_text(json.dumps(doc))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_a_changed_file_is_applied_at_the_next_look(tmp_path):
    path = tmp_path / "launch.json"
    _write(path, registration("https://a.example.org/fhir"))
    source = Registration(load_settings(path), str(path), check_every=3600)
    _write(path, registration("https://b.example.org/fhir"))
    assert source.current().server_for("https://b.example.org/fhir") is None  # not looked yet
    source.request_reload()  # what SIGHUP does
    assert source.current().server_for("https://b.example.org/fhir") is not None


def test_a_broken_file_keeps_the_last_good_registration_and_says_why(tmp_path, caplog):
    path = tmp_path / "launch.json"
    _write(path, registration("https://a.example.org/fhir"))
    source = Registration(load_settings(path), str(path), check_every=0)
    path.write_text("{not json")
    os.utime(path, ns=(0, path.stat().st_mtime_ns + 2_000_000_000))
    with caplog.at_level(logging.WARNING, logger="smart_app.launch.runtime"):
        assert source.current().server_for("https://a.example.org/fhir") is not None
    assert any("not valid JSON" in r.getMessage() for r in caplog.records)


def test_a_moved_callback_path_needs_a_restart(tmp_path, caplog):
    path = tmp_path / "launch.json"
    _write(path, registration("https://a.example.org/fhir"))
    source = Registration(load_settings(path), str(path), check_every=0)
    moved = registration("https://b.example.org/fhir")
    moved["redirect_uris"] = ["http://localhost:8000/elsewhere"]
    _write(path, moved)
    with caplog.at_level(logging.WARNING, logger="smart_app.launch.runtime"):
        assert source.current().redirect_uri == "http://localhost:8000/callback"
    assert any("restart" in r.getMessage() for r in caplog.records)


def test_a_registration_given_as_data_never_reloads(app):
    from smart_app.launch.runtime import EXTENSION
    assert app.extensions[EXTENSION].registration._path is None
