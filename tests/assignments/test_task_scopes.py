"""The app asks for the least Task access it needs, in either scope syntax."""
from __future__ import annotations

from pathlib import Path

from smart_app.config import load_settings
from smart_app.context import Permissions
from smart_app.launch.scopes import requested_scope

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_scopes_ask_to_read_search_and_update_tasks_and_read_appointments_only():
    scopes = load_settings(ROOT / "launch.json").scope.split()
    assert "patient/Task.rus" in scopes and "patient/Appointment.rs" in scopes
    assert not [s for s in scopes if s.startswith("patient/Task.") and s != "patient/Task.rus"]


def test_a_v1_server_is_asked_for_task_read_and_write():
    scope = requested_scope("patient/Task.rus patient/Appointment.rs", ehr_launch=False, v2=False).split()
    assert scope == ["patient/Task.read", "patient/Task.write", "patient/Appointment.read", "launch/patient"]


def test_granted_task_scopes_in_either_syntax_allow_reading_and_updating():
    for granted in ({"patient/Task.rus"}, {"patient/Task.read", "patient/Task.write"}):
        permissions = Permissions(frozenset(granted))
        assert permissions.can_read("Task") and permissions.can_write("Task")
    read_only = Permissions(frozenset({"patient/Task.rs"}))
    assert read_only.can_read("Task") and not read_only.can_write("Task")


def test_an_update_only_task_grant_never_lets_the_app_create_a_task():
    permissions = Permissions(frozenset({"patient/Task.rus"}))
    assert permissions.can_update("Task") and not permissions.can_create("Task")
    assert Permissions(frozenset({"patient/Task.write"})).can_create("Task")
