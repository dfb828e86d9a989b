"""A failed calculation is worded for its reader: the clinician is told it could not be calculated,
the patient gets a neutral note (no resource types, ids or codes)."""
from __future__ import annotations

from .conftest import item, questionnaire, run, sdc_expression

BROKEN = questionnaire(item("score", "decimal", "Risk score", readOnly=True, ext=[
    sdc_expression("sdc-questionnaire-calculatedExpression", "%nothing.here()")]))


def test_clinician_reads_could_not_be_calculated(render) -> None:
    html = render(run(BROKEN, {})[2], whose={"kind": "clinician", "patient_name": None})
    assert "This value could not be calculated" in html


def test_patient_reads_a_neutral_note(render) -> None:
    html = render(run(BROKEN, {})[2], whose={"kind": "patient", "patient_name": None})
    assert "could not be calculated" not in html and "you do not need to fill it in" in html
