"""The clinician's pre-visit summary on the sidebar home: safety flags, then scores with their change, then vitals.

Built from the questionnaire catalog this request has already read (the EHR's completed
responses, earlier ones included, come in the same read wave), so the summary costs no
extra round trip. Flags are the shipped or deployment rules evaluated on each form's latest
completed response, whatever wrote it; scores and bands are computed by the app's scoring.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from zoneinfo import ZoneInfo
from decimal import Decimal
from typing import Any, Callable, Iterator

from flask import url_for

from smart_app.text import Text
from smart_app import i18n, safety
from smart_app.web.asked import RequestLine, request_lines
from smart_app.assignments.ordering import may_ask, may_cancel
from smart_app.launch.session import Launch
from smart_app.forms.catalog import Assignments, CatalogEntry, CompletedResponse, assignments, catalog
from smart_app.forms.extraction import VITAL_SIGN_CODES
from smart_app.forms.model import Form
from smart_app.forms.summary import answer_text

ResponseUrl = Callable[[CatalogEntry, CompletedResponse], str]
# Free-text reports of the bundled intake form worth a line of their own (vital signs are found by code).
REPORTED_LINK_IDS = frozenset({"reason", "symptoms", "symptoms-since", "allergy-details"})


@dataclass(frozen=True)
class FlagLine:
    """One fired rule on a latest response: what, which question and answer, when, and where to read it all."""

    title: str
    details: tuple[str, ...]
    when: str | None
    urgent: bool
    url: str


@dataclass(frozen=True)
class ScoreLine:
    """An instrument's latest total with its band, and the change since the previous completed response."""

    instrument: str
    total: Decimal
    maximum: int | None
    band: str | None
    change: Decimal | None
    previous_when: str | None
    when: str | None
    url: str

    @property
    def change_text(self) -> str:
        """'up 4', 'down 2', 'no change', or '' when there is nothing to compare with."""
        if self.change is None:
            return ""
        if self.change == 0:
            return Text("no change")
        return Text("up %(n)s", n=abs(self.change)) if self.change > 0 else Text("down %(n)s", n=abs(self.change))


@dataclass(frozen=True)
class ReportedLine:
    """Something the patient reported (a vital sign, their symptoms), with where it was said."""

    label: str
    value: str
    when: str | None
    url: str


@dataclass(frozen=True)
class AskedForms:
    """The forms asked of the patient (SDC Tasks), and whether this clinician may ask for another."""

    lines: tuple[RequestLine, ...] = ()
    unreadable: str | None = None  # "no-scope" | "failed": the requests could not be read
    may_ask: bool = False
    may_cancel: bool = False


@dataclass
class PreVisitSummary:
    """Everything above the task list for a clinician, in the order it matters."""

    flags: list[FlagLine] = field(default_factory=list)
    scores: list[ScoreLine] = field(default_factory=list)
    reported: list[ReportedLine] = field(default_factory=list)
    asked: AskedForms = field(default_factory=AskedForms)

    @property
    def empty(self) -> bool:
        """Nothing reported yet."""
        return not (self.flags or self.scores or self.reported)


def _date(authored: str | None) -> str | None:
    """The date part of a FHIR dateTime (clinicians read dates; times and zones stay in the chart)."""
    return authored[:10] if authored else None


def build_summary(entries: list[CatalogEntry], rules: safety.RuleSet, response_url: ResponseUrl) -> PreVisitSummary:
    """The summary from the catalog's entries: one pass over each form's completed responses."""
    summary = PreVisitSummary()
    for entry in entries:
        latest = entry.latest
        form = entry.form if latest else None
        if latest is None or form is None:
            continue
        url = response_url(entry, latest)
        for finding in safety.evaluate(rules, form, latest.resource, score=latest.score):
            summary.flags.append(FlagLine(finding.rule.title, tuple(f"{m.question}: {m.answer}" for m in finding.matches),
                                          _date(latest.authored), finding.rule.severity is safety.Severity.URGENT, url))
        line = _score_line(entry, latest, url)
        if line is not None:
            summary.scores.append(line)
        summary.reported.extend(_reported(form, latest, url))
    summary.flags.sort(key=lambda f: not f.urgent)
    return summary


def _score_line(entry: CatalogEntry, latest: CompletedResponse, url: str) -> ScoreLine | None:
    """The latest total with band and the change since the previous completed response to the same form."""
    score = latest.score
    if score is None or score.total is None:
        return None
    previous = next((c for c in entry.completed[1:] if c.score is not None and c.score.total is not None), None)
    instrument = score.instrument
    return ScoreLine(
        instrument=instrument.name if instrument else entry.title, total=score.total,
        maximum=instrument.maximum if instrument else None, band=score.band,
        change=score.total - previous.score.total if previous and previous.score and previous.score.total is not None else None,
        previous_when=_date(previous.authored) if previous else None, when=_date(latest.authored), url=url)


def _reported(form: Form, latest: CompletedResponse, url: str) -> Iterator[ReportedLine]:
    """Vital signs the patient entered (items with vital-sign LOINC codes), and the symptoms they chose."""
    for node, item in _answered(form, latest.resource.get("item")):
        codes = {c.get("code") for c in item.code}
        if codes & VITAL_SIGN_CODES or item.link_id in REPORTED_LINK_IDS:
            values = [_text(a) for a in node.get("answer") or []]
            values = [v for v in values if v]
            if values:
                yield ReportedLine(item.text or item.link_id, ", ".join(values), _date(latest.authored), url)


def _answered(form: Form, items: Any) -> Iterator[tuple[dict, Any]]:
    """(response item, form item) for answered items, nested ones included, without recursion."""
    stack = list(reversed(items)) if isinstance(items, list) else []
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            continue
        item = form.by_link_id.get(str(node.get("linkId")))
        if item is not None and node.get("answer"):
            yield node, item
        stack.extend(reversed([c for c in node.get("item") or []]))
        for answer in node.get("answer") or []:
            stack.extend(reversed(answer.get("item") or []) if isinstance(answer, dict) else [])


def _text(answer: Any) -> str:
    """One stored answer as people read it."""
    if not isinstance(answer, dict):
        return ""
    for key, value in answer.items():
        if key.startswith("value"):
            suffix = key[5:]
            if suffix == "Quantity" and isinstance(value, dict) and "value" in value:
                value = {**value, "value": Decimal(str(value["value"]))}
            elif suffix == "Decimal":
                value = Decimal(str(value))
            return answer_text((suffix, value))
    return ""


def summary_for(launch: Launch) -> PreVisitSummary | None:
    """The summary for a clinician's launch (None for patients and caregivers, who see their tasks).

    The patient's form requests (SDC Tasks, open and recently finished) come from the catalog's own
    read wave, so they cost no extra round trip.
    """
    if launch.context.user_kind != "clinician" or not launch.context.patient_id:
        return None
    entries = catalog(launch)

    def response_url(entry: CatalogEntry, response: CompletedResponse) -> str:
        """Where the clinician reads a completed response in full."""
        return url_for("questionnaires.response", handle=launch.handle, key=entry.key, response_id=response.id)

    summary = build_summary(entries, safety.settings().rules, response_url)
    summary.asked = asked_forms(launch, assignments(launch), entries, response_url)
    return summary


def asked_forms(launch: Launch, found: Assignments, entries: list[CatalogEntry], response_url: ResponseUrl) -> AskedForms:
    """The sidebar's "Forms asked for this visit" from the catalog's Tasks (open and recently finished)."""
    ctx = launch.context
    cancel = may_cancel(launch)
    # A date-only due date ends at midnight in the reader's zone (browser, else the deployment's).
    lines = request_lines((*found.tasks, *found.closed), entries, now=datetime.now(timezone.utc),
                          tz=ZoneInfo(i18n.select_zone()),
                          me=ctx.fhir_user, iss=ctx.iss, encounter_id=ctx.encounter_id, response_url=response_url,
                          can_cancel=cancel)
    return AskedForms(tuple(lines), found.task_read.skipped, may_ask(launch), cancel)
