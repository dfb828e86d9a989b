"""The receipt says what was saved by meaning, and says 'nothing was saved twice' only when a retry found records."""
from decimal import Decimal

from smart_app.delivery.outbox import OutboxState
from smart_app.delivery.receipt_summary import describe, saved_things
from smart_app.delivery.submission import SubmissionOutcome
from smart_app.delivery.writeback import Receipt, ReceiptEntry

LOINC = "http://loinc.org"


def observation(code: str, **value) -> dict:
    """An Observation with a LOINC code and a value."""
    return {"resourceType": "Observation", "code": {"coding": [{"system": LOINC, "code": code, "display": code}]}, **value}


def test_weight_blood_pressure_and_answers_read_by_meaning() -> None:
    bundle = {"entry": [{"resource": r} for r in (
        {"resourceType": "QuestionnaireResponse"},
        observation("29463-7", valueQuantity={"value": 72.5, "unit": "kg"}),
        observation("85354-9", component=[
            {"code": {"coding": [{"system": LOINC, "code": "8480-6"}]}, "valueQuantity": {"value": 128}},
            {"code": {"coding": [{"system": LOINC, "code": "8462-4"}]}, "valueQuantity": {"value": 82}}]),
        observation("44261-6", valueInteger=12),
        {"resourceType": "Provenance"},
    )]}
    things = saved_things(bundle)
    assert [t.kind for t in things] == ["answers", "weight", "blood_pressure", "score", "provenance"]
    weight, pressure, score = things[1], things[2], things[3]
    assert (weight.value, weight.unit) == (Decimal("72.5"), "kg")
    assert (pressure.value, pressure.second_value) == (Decimal("128"), Decimal("82"))
    assert (score.label, score.value) == ("PHQ-9", Decimal("12"))


def test_one_line_for_every_medicine_use_observation() -> None:
    bundle = {"entry": [{"resource": observation("71799-1")} for _ in range(5)]}
    assert [t.kind for t in saved_things(bundle)] == ["medication_use"]


def test_an_unknown_observation_keeps_its_own_name_and_value() -> None:
    thing = describe(observation("2339-0", valueQuantity={"value": 5.4, "unit": "mmol/L"}))
    assert (thing.kind, thing.label, thing.value, thing.unit) == ("measurement", "2339-0", Decimal("5.4"), "mmol/L")


def outcome(attempts: int, created: bool) -> SubmissionOutcome:
    """A sent outcome after `attempts` tries whose QuestionnaireResponse was (or was not) created by the last one."""
    receipt = Receipt((ReceiptEntry("QuestionnaireResponse", "qr1", "1", 201 if created else 200, created),), "2026-12-03T10:43:00Z")
    return SubmissionOutcome(submission_id="s", kind="questionnaire", label="", state=OutboxState.SENT, receipt=receipt,
                             planned_types=("QuestionnaireResponse",), skipped_types=(), error=None, status=None,
                             attempts=attempts, next_attempt_at=None, created_at=0.0, sent_at=1.0)


def test_nothing_saved_twice_is_said_only_after_a_retry_found_the_record() -> None:
    assert not outcome(1, created=True).found_existing
    assert not outcome(1, created=False).found_existing  # a first send: not a retry, whatever the server said
    assert not outcome(2, created=True).found_existing
    assert outcome(2, created=False).found_existing
