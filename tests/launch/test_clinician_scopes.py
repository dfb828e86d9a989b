"""The clinician's Task scopes: asked for in an EHR launch only, rewritten for v1 servers, and read back as create/update permissions."""
from __future__ import annotations

import pytest

from smart_app.context import Permissions
from tests.fixtures.app import registration

SCOPE = "openid fhirUser patient/Patient.r patient/Task.rus user/Task.c"


@pytest.fixture
def task_launcher(make_app, fake_ehr):
    """A launcher for an app whose registration includes the clinician's Task scopes."""
    from tests.fixtures.app import Launcher
    doc = registration(fake_ehr.base)
    doc["scope"] = SCOPE
    return Launcher(make_app(doc).test_client(), fake_ehr)


def test_an_ehr_launch_asks_for_the_clinicians_task_scope(task_launcher):
    scopes = task_launcher.authorize(launch="launch-1").params["scope"].split()
    assert "user/Task.c" in scopes and "patient/Task.rus" in scopes


def test_a_standalone_launch_from_the_patient_portal_asks_for_no_user_scope(task_launcher):
    scopes = task_launcher.authorize(launch=None).params["scope"].split()
    assert "patient/Task.rus" in scopes
    assert not any(s.startswith("user/") for s in scopes)


def test_a_v1_server_gets_user_task_write(task_launcher, fake_ehr):
    fake_ehr.serve_discovery(capabilities=["launch-ehr", "launch-standalone", "permission-v1", "sso-openid-connect"])
    scopes = task_launcher.authorize(launch="launch-1").params["scope"].split()
    assert "user/Task.write" in scopes and "patient/Task.read" in scopes and "patient/Task.write" in scopes


@pytest.mark.parametrize("granted,create,update", [
    ({"user/Task.c"}, True, False),
    ({"user/Task.cu"}, True, True),
    ({"patient/Task.rus"}, False, True),
    ({"user/Task.write"}, True, True),
    ({"user/*.cruds"}, True, True),
    ({"user/Task.rs"}, False, False),
    ({"system/Task.cu"}, False, False),
    ({"user/Observation.c"}, False, False),
])
def test_create_and_update_are_told_apart(granted, create, update):
    permissions = Permissions(frozenset(granted))
    assert (permissions.can_create("Task"), permissions.can_update("Task")) == (create, update)
