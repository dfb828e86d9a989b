"""`local_registration`: the sandbox pair's registration follows the ports in use; public entries are kept."""
from __future__ import annotations

import json
from pathlib import Path

from smart_app.config import local_registration, origin_for

ROOT = Path(__file__).resolve().parents[2]


def test_every_loopback_url_moves_to_the_ports_in_use_and_public_entries_stay():
    shipped = json.loads((ROOT / "launch.json").read_text())
    doc = local_registration(shipped, app_origin="http://localhost:8501", sandbox_origin="http://127.0.0.1:9591")
    assert doc["launch_uri"] == "http://localhost:8501/launch"
    assert doc["redirect_uris"] == ["http://localhost:8501/callback"]
    assert doc["jwks_uri"] == "http://localhost:8501/.well-known/jwks.json"
    local, public = doc["fhir_servers"][0], doc["fhir_servers"][1]
    assert (local["iss"], local["frame_ancestors"]) == ("http://127.0.0.1:9591/fhir", ["http://127.0.0.1:9591"])
    assert public == shipped["fhir_servers"][1]
    assert shipped["launch_uri"] == "http://localhost:8000/launch"  # the input is not changed


def test_a_registered_callback_path_keeps_its_path():
    doc = local_registration({"redirect_uris": ["http://localhost:8000/smart/callback", "https://app.example.org/cb"]},
                             app_origin="http://localhost:8501", sandbox_origin="http://127.0.0.1:9591")
    assert doc["redirect_uris"] == ["http://localhost:8501/smart/callback", "https://app.example.org/cb"]


def test_a_wildcard_listener_is_reached_at_localhost():
    assert origin_for("0.0.0.0", 8000) == "http://localhost:8000"
    assert origin_for("127.0.0.1", 9591) == "http://127.0.0.1:9591"
