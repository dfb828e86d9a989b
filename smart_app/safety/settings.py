"""The deployment's safety settings: rules in force and crisis contacts, from launch.json's `safety` block.

```json
"safety": {
  "rules_file": "clinic-rules.json",          // optional: use this file instead of the shipped rules
  "disable": ["gad7-total-severe"],           // switch rules off by id
  "rules": [ ...extra rules... ],             // add rules (same format as the file's "rules")
  "crisis_contacts": [
    {"label": "Suicide and Crisis Lifeline (call or text)", "phone": "988", "for": ["mental-health"]},
    {"label": "Emergency services", "phone": "911", "for": ["mental-health", "physical-urgent"]}
  ],
  "patient_bands": false                      // show score bands to patients (clinicians always see them)
}
```

Read once when the app is created; any problem raises RuleError (`file: rule: problem`),
which stops startup. Without `crisis_contacts` the US defaults below are used and every page
that shows them says they still need to be configured.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

from smart_app.text import N_

from .rules import PatientMessage, RuleError, RuleSet, parse_rule_file, parse_rules


SHIPPED_RULES = "rules.json"
_PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{0,19}$")
_SAFETY_KEYS = frozenset({"rules_file", "disable", "rules", "crisis_contacts", "patient_bands"})


@dataclass(frozen=True)
class CrisisContact:
    """Someone to call now: plain words and a number (shown as text and as a tel: link)."""

    label: str
    phone: str
    topics: frozenset[PatientMessage]

    @property
    def tel(self) -> str:
        """The tel: URI (RFC 3966): digits and a leading + only."""
        return "tel:" + re.sub(r"[^0-9+]", "", self.phone)


# Sandbox and unconfigured default: United States numbers, always shown with a "configure me" note.
DEFAULT_CONTACTS = (
    CrisisContact(N_("Call or text 988, the Suicide and Crisis Lifeline"), "988", frozenset({PatientMessage.MENTAL_HEALTH})),
    CrisisContact(N_("Call 911 for an emergency"), "911",
                  frozenset({PatientMessage.MENTAL_HEALTH, PatientMessage.PHYSICAL_URGENT})),
)


@dataclass(frozen=True)
class SafetySettings:
    """What the safety layer needs at run time."""

    rules: RuleSet
    contacts: tuple[CrisisContact, ...]
    contacts_configured: bool
    patient_bands: bool = False  # show score bands ("Moderate depression") to patients and caregivers

    def contacts_for(self, topics: set[PatientMessage] | frozenset[PatientMessage]) -> list[CrisisContact]:
        """Contacts for any of these message topics, in configured order."""
        return [c for c in self.contacts if c.topics & set(topics)]


def shipped_rules() -> RuleSet:
    """The rules shipped with the app (smart_app/safety/rules.json)."""
    text = (resources.files(__package__) / SHIPPED_RULES).read_text(encoding="utf-8")
    return _parse_json_rules(text, f"smart_app/safety/{SHIPPED_RULES}")


def _parse_json_rules(text: str, path: str) -> RuleSet:
    """Parse a rule file's text."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RuleError(path, "(file)", f"not valid JSON (line {exc.lineno}: {exc.msg})") from None
    return parse_rule_file(raw, path)


def load_safety(registration: Mapping[str, Any], path: str, base_dir: Path) -> SafetySettings:
    """Safety settings from a registration document (launch.json); files are read relative to `base_dir`."""
    raw = registration.get("safety", {})
    if not isinstance(raw, Mapping):
        raise RuleError(path, "safety", "must be a JSON object")
    unknown = sorted(set(raw) - _SAFETY_KEYS)
    if unknown:
        raise RuleError(path, f"safety.{unknown[0]}", f"unknown key (use {', '.join(sorted(_SAFETY_KEYS))})")
    rules_file = raw.get("rules_file")
    if rules_file is None:
        rules = shipped_rules()
    else:
        if not isinstance(rules_file, str) or not rules_file.strip():
            raise RuleError(path, "safety.rules_file", "must be the path of a rule file")
        file_path = Path(rules_file) if Path(rules_file).is_absolute() else base_dir / rules_file
        try:
            text = file_path.read_text(encoding="utf-8")
        except OSError:
            raise RuleError(str(file_path), "(file)", "cannot be read (named by safety.rules_file)") from None
        rules = _parse_json_rules(text, str(file_path))
    disable = raw.get("disable", [])
    if not isinstance(disable, list) or not all(isinstance(d, str) for d in disable):
        raise RuleError(path, "safety.disable", "must be a list of rule ids")
    for index, rule_id in enumerate(disable):
        if rules.by_id(rule_id) is None:
            raise RuleError(path, f"safety.disable[{index}]", f"there is no rule {rule_id!r} to switch off")
    rules = rules.without(frozenset(disable))
    if "rules" in raw:
        rules = rules.plus(parse_rules(raw["rules"], path, "safety.rules"), path)
    bands = raw.get("patient_bands", False)
    if not isinstance(bands, bool):
        raise RuleError(path, "safety.patient_bands", "must be true or false")
    contacts_raw = raw.get("crisis_contacts")
    if contacts_raw is None:
        return SafetySettings(rules, DEFAULT_CONTACTS, contacts_configured=False, patient_bands=bands)
    return SafetySettings(rules, _contacts(contacts_raw, path), contacts_configured=True, patient_bands=bands)


def _contacts(raw: Any, path: str) -> tuple[CrisisContact, ...]:
    """Validate `crisis_contacts`: each has a label, a phone number and the topics it serves."""
    if not isinstance(raw, list) or not raw:
        raise RuleError(path, "safety.crisis_contacts", "must be a non-empty list (a person in crisis needs someone to call)")
    contacts = []
    for index, entry in enumerate(raw):
        key = f"safety.crisis_contacts[{index}]"
        if not isinstance(entry, Mapping):
            raise RuleError(path, key, "must be an object with label, phone and for")
        label, phone, topics = entry.get("label"), entry.get("phone"), entry.get("for", ["mental-health", "physical-urgent"])
        if not isinstance(label, str) or not label.strip():
            raise RuleError(path, f"{key}.label", "is required (plain words, e.g. \"Call 111 for urgent advice\")")
        if not isinstance(phone, str) or not _PHONE.match(phone.strip()):
            raise RuleError(path, f"{key}.phone", "must be a phone number (digits, spaces, dashes, brackets, a leading +)")
        if not isinstance(topics, list) or not topics:
            raise RuleError(path, f"{key}.for", "must list mental-health and/or physical-urgent")
        try:
            chosen = frozenset(PatientMessage(t) for t in topics)
        except ValueError:
            raise RuleError(path, f"{key}.for", "must list mental-health and/or physical-urgent") from None
        if PatientMessage.NONE in chosen:
            raise RuleError(path, f"{key}.for", "must list mental-health and/or physical-urgent")
        contacts.append(CrisisContact(label.strip(), phone.strip(), chosen))
    for topic in (PatientMessage.MENTAL_HEALTH, PatientMessage.PHYSICAL_URGENT):
        if not any(topic in c.topics for c in contacts):
            raise RuleError(path, "safety.crisis_contacts", f"no contact is listed for {topic.value}")
    return tuple(contacts)
