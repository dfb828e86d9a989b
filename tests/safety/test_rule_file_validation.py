"""A broken rule file or safety block stops startup with `file: rule: problem`; good ones load."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from smart_app import create_app
from smart_app.config import ConfigError
from smart_app.safety import RuleError, load_safety, shipped_rules
from smart_app.safety.rules import RULES_FORMAT, parse_rule_file
from tests.fixtures.app import registration

GOOD = {"id": "my-rule", "title": "Something to look at", "severity": "high", "patient_message": "none",
        "questionnaire": {"url": "http://example.org/Questionnaire/x"},
        "any": [{"item": {"linkId": "a"}, "value": {">=": 3}}], "source": "Local protocol 12"}


def rule_file(*rules: dict) -> dict:
    """A rule file document."""
    return {"format": RULES_FORMAT, "rules": list(rules)}


@pytest.mark.parametrize("change, message", [
    ({"severity": "red"}, "rules.json: my-rule: \"severity\" must be one of urgent, high"),
    ({"patient_message": "shout"}, "rules.json: my-rule: \"patient_message\" must be one of mental-health, physical-urgent, none"),
    ({"any": []}, "rules.json: my-rule: \"any\" must be a non-empty list of tests"),
    ({"any": [{"item": {"linkId": "a"}, "valu": {">=": 3}}]}, "rules.json: my-rule: any[0]: unknown key 'valu'"),
    ({"any": [{"item": {"linkId": "a"}, "value": {"=>": 3}}]}, "rules.json: my-rule: any[0].value: unknown operator '=>'"),
    ({"any": [{"item": {"linkId": "a"}, "value": {">=": "many"}}]}, "rules.json: my-rule: any[0].value: >= needs a number"),
    ({"any": [{"value": {">=": 3}}]}, "rules.json: my-rule: any[0]: \"value\" needs an \"item\" (linkId or code)"),
    ({"any": [{"fhirpath": "item.where(linkId = "}]}, "rules.json: my-rule: any[0].fhirpath is not valid FHIRPath"),
    ({"any": [{"fhirpath": "item..answer"}]}, "rules.json: my-rule: any[0].fhirpath is not valid FHIRPath"),
    ({"any": [{"fhirpath": "item.frobnicate()"}]}, "rules.json: my-rule: any[0].fhirpath cannot be evaluated"),
    ({"questionnaire": {}}, "rules.json: my-rule: \"questionnaire\" needs a \"url\" or a \"code\""),
    ({"questionnaire": {"url": "http://x", "version": "about 2"}}, "rules.json: my-rule: questionnaire.version: cannot read 'about'"),
    ({"source": ""}, "rules.json: my-rule: \"source\" is required"),
    ({"flag_category": "urgent"}, "rules.json: my-rule: \"flag_category\" must be one of"),
    ({"colour": "red"}, "rules.json: my-rule: unknown key 'colour'"),
])
def test_a_broken_rule_is_named_with_its_file_and_problem(change, message):
    with pytest.raises(RuleError) as caught:
        parse_rule_file(rule_file({**GOOD, **change}), "rules.json")
    assert str(caught.value).startswith(message)
    assert isinstance(caught.value, ConfigError)


def test_a_rule_without_an_id_is_named_by_its_position():
    with pytest.raises(RuleError, match=r"^rules.json: rules\[1\]: \"id\" must be"):
        parse_rule_file(rule_file(GOOD, {**GOOD, "id": "Bad Id"}), "rules.json")


def test_two_rules_with_one_id_are_refused():
    with pytest.raises(RuleError, match=r"^rules.json: my-rule: this id is used by two rules"):
        parse_rule_file(rule_file(GOOD, GOOD), "rules.json")


def test_the_shipped_file_holds_the_four_rules_with_sources():
    rules = shipped_rules()
    assert [r.id for r in rules.rules] == ["phq9-item9-self-harm", "phq9-total-severe", "gad7-total-severe",
                                           "bp-hypertensive-crisis"]
    assert all(r.source for r in rules.rules)


def test_launch_json_can_switch_a_rule_off_and_add_one():
    settings = load_safety({"safety": {"disable": ["gad7-total-severe"], "rules": [GOOD]}}, "launch.json", Path("."))
    assert [r.id for r in settings.rules.rules] == ["phq9-item9-self-harm", "phq9-total-severe",
                                                    "bp-hypertensive-crisis", "my-rule"]


@pytest.mark.parametrize("safety, message", [
    ({"disable": ["phq9-item-9"]}, "launch.json: safety.disable[0]: there is no rule 'phq9-item-9' to switch off"),
    ({"rules": [{**GOOD, "id": "phq9-total-severe"}]}, "launch.json: phq9-total-severe: a rule with this id already exists"),
    ({"rules_file": "nowhere.json"}, "nowhere.json: (file): cannot be read"),
    ({"crisis_contacts": []}, "launch.json: safety.crisis_contacts: must be a non-empty list"),
    ({"crisis_contacts": [{"label": "Call us", "phone": "call me"}]}, "launch.json: safety.crisis_contacts[0].phone: must be a phone number"),
    ({"crisis_contacts": [{"label": "Samaritans", "phone": "116 123", "for": ["mental-health"]}]},
     "launch.json: safety.crisis_contacts: no contact is listed for physical-urgent"),
    ({"colour": 1}, "launch.json: safety.colour: unknown key"),
])
def test_a_broken_safety_block_is_named(safety, message):
    with pytest.raises(RuleError) as caught:
        load_safety({"safety": safety}, "launch.json", Path("/tmp"))
    assert str(caught.value).startswith(message.replace("nowhere.json", "/tmp/nowhere.json"))


def test_a_named_rule_file_replaces_the_shipped_rules(tmp_path):
    (tmp_path / "clinic.json").write_text(json.dumps(rule_file(GOOD)), encoding="utf-8")
    settings = load_safety({"safety": {"rules_file": "clinic.json"}}, str(tmp_path / "launch.json"), tmp_path)
    assert [r.id for r in settings.rules.rules] == ["my-rule"]


def test_an_invalid_rule_file_stops_startup(tmp_path, client_key_paths):
    (tmp_path / "clinic.json").write_text(json.dumps(rule_file({**GOOD, "severity": "red"})), encoding="utf-8")
    doc = registration("https://ehr.example.org/fhir")
    doc["safety"] = {"rules_file": str(tmp_path / "clinic.json")}
    (tmp_path / "launch.json").write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(RuleError) as caught:
        create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"), "CONFIG_PATH": str(tmp_path / "launch.json"),
                    "SECRET_KEY": "x", **client_key_paths})
    assert str(caught.value) == f"{tmp_path / 'clinic.json'}: my-rule: \"severity\" must be one of urgent, high"


def test_the_cli_prints_the_rule_problem_and_exits(tmp_path, monkeypatch, capsys):
    from smart_app import cli
    (tmp_path / "clinic.json").write_text("{ not json", encoding="utf-8")
    doc = registration("https://ehr.example.org/fhir")
    doc["safety"] = {"rules_file": "clinic.json"}
    (tmp_path / "launch.json").write_text(json.dumps(doc), encoding="utf-8")
    monkeypatch.setenv("SMART_APP_CONFIG", str(tmp_path / "launch.json"))
    monkeypatch.setenv("SMART_APP_SECRET_KEY", "x" * 40)
    monkeypatch.chdir(tmp_path)
    assert cli._build_app() is None
    assert f"{tmp_path / 'clinic.json'}: (file): not valid JSON" in capsys.readouterr().err
