"""Typed values shared by the medication-review core: rows, reports, differences."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from .names import FriendlyName, friendly_name

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"

ReportStatus = Literal["taking", "different", "not-taking", "unsure"]
StopReason = Literal["side-effects", "cost", "felt-better", "told-to-stop", "other"]
DifferenceKind = Literal["not-taking", "taking-differently", "not-sure", "new-medicine"]

# Plain-language labels; the same wording is used on the form, in the QR and for clinicians.
def N_(text: str) -> str:
    """Mark text for the catalog; pages translate it where it is shown (records keep the English)."""
    return text


STATUS_LABELS: dict[str, str] = {
    "taking": N_("Taking it as prescribed"),
    "different": N_("Taking it differently"),
    "not-taking": N_("Not taking it"),
    "unsure": N_("Not sure"),
}
STOP_REASON_LABELS: dict[str, str] = {
    "side-effects": N_("Side effects"),
    "cost": N_("Cost"),
    "felt-better": N_("I felt better"),
    "told-to-stop": N_("I was told to stop"),
    "other": N_("Other reason"),
}


# The same reasons mid-sentence, for the clinician's list of differences ("(side effects)").
STOP_REASON_WORDS: dict[str, str] = {
    "side-effects": N_("side effects"),
    "cost": N_("cost"),
    "felt-better": N_("felt better"),
    "told-to-stop": N_("was told to stop"),
    "other": N_("other reason"),
}


def plain_date(value: str | None) -> str | None:
    """A FHIR date as people write it: "1 May 2023", "May 2023" or "2023"."""
    if not value:
        return None
    parts = value.split("T")[0].split("-")
    try:
        numbers = [int(p) for p in parts]
        if len(numbers) == 3:
            return f"{numbers[2]} {date(*numbers):%B %Y}"
        if len(numbers) == 2:
            return f"{date(numbers[0], numbers[1], 1):%B %Y}"
        if len(numbers) == 1:
            return str(numbers[0])
    except ValueError:
        pass
    return value


@dataclass(frozen=True)
class Coding:
    """One FHIR Coding, reduced to what we show and write back."""

    system: str | None
    code: str | None
    display: str | None

    def as_fhir(self) -> dict[str, str]:
        """Return the FHIR JSON form, leaving out empty parts."""
        out = {"system": self.system, "code": self.code, "display": self.display}
        return {k: v for k, v in out.items() if v}


@dataclass(frozen=True)
class SourceRef:
    """One FHIR record a row was built from (a MedicationRequest or MedicationStatement)."""

    resource_type: str
    id: str
    status: str
    reported: bool = False
    dosage: str = ""

    @property
    def reference(self) -> str:
        """The relative reference, e.g. ``MedicationRequest/123``."""
        return f"{self.resource_type}/{self.id}"

    @property
    def label(self) -> str:
        """Plain-language name for where this entry came from."""
        if self.resource_type == "MedicationStatement":
            return N_("Your medication list")
        if self.reported:
            return N_("Reported medicine")
        return N_("Prescription")


@dataclass(frozen=True)
class MedicationRow:
    """One medicine as the patient sees it, possibly merged from several records."""

    key: str
    name: str
    code: Coding | None
    dosage: str
    sources: tuple[SourceRef, ...]
    prescriber: str | None = None
    start: str | None = None
    reason: str | None = None
    unresolved: bool = False
    is_current: bool = True
    status_note: str | None = None

    @property
    def start_text(self) -> str | None:
        """The start date in plain words."""
        return plain_date(self.start)

    @property
    def friendly(self) -> FriendlyName:
        """The name a patient recognises ("Metformin 500 mg tablet"), keeping the record's name."""
        return friendly_name(self.name)

    @property
    def rxnorm(self) -> str | None:
        """The RxNorm code when the medicine has one."""
        if self.code is not None and self.code.system == RXNORM:
            return self.code.code
        return None

    @property
    def references(self) -> tuple[str, ...]:
        """Relative references of every source record."""
        return tuple(source.reference for source in self.sources)


@dataclass(frozen=True)
class MedicationList:
    """Current medicines to review, and past or not-taken ones shown apart."""

    current: list[MedicationRow] = field(default_factory=list)
    past: list[MedicationRow] = field(default_factory=list)


@dataclass(frozen=True)
class MedicineReport:
    """What the patient reported about one medicine on the list."""

    row: MedicationRow
    status: ReportStatus
    how_different: str | None = None
    since: str | None = None
    why_not: StopReason | None = None
    side_effects: str | None = None
    # The patient's own words when why_not is "other"; None for every other reason.
    why_other: str | None = None

    @property
    def why_not_text(self) -> str | None:
        """The reason in words, e.g. "Cost" or "Other reason (ran out)"; None when no reason was given."""
        if self.why_not is None:
            return None
        label = STOP_REASON_LABELS[self.why_not]
        return f"{label} ({self.why_other})" if self.why_not == "other" and self.why_other else label


@dataclass(frozen=True)
class AddedMedicine:
    """A medicine the patient takes that was not on the list."""

    name: str
    dose: str | None = None
    how_often: str | None = None


@dataclass(frozen=True)
class Review:
    """A validated medication review, ready to be written back."""

    reports: list[MedicineReport]
    added: list[AddedMedicine]


@dataclass(frozen=True)
class ReviewMeta:
    """Who, when and where a review was made; references are relative (``Patient/1``)."""

    subject: str
    authored: str
    author: str | None = None
    source: str | None = None
    encounter: str | None = None
    performer: str | None = None
    # The QR's fullUrl in the transaction; Observations point at it through derivedFrom.
    response_ref: str | None = None
    language: str | None = None  # the language the person reviewed in (QuestionnaireResponse.language)


@dataclass(frozen=True)
class Difference:
    """One thing the clinician should look at: the patient's report differs from the list."""

    kind: DifferenceKind
    medicine: str
    detail: str
    row: MedicationRow | None = None
    side_effects: str | None = None

    @property
    def label(self) -> str:
        """Short plain-language tag for the sidebar."""
        return {
            "not-taking": N_("Not taking"),
            "taking-differently": N_("Taking differently"),
            "not-sure": N_("Not sure"),
            "new-medicine": N_("New medicine"),
        }[self.kind]
