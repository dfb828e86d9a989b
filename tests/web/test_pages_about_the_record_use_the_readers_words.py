"""One place decides whose words a page about the record uses (wording.reader_of), for every kind of reader."""
from __future__ import annotations

import pytest

from smart_app.forms.extraction_summary import skipped_text
from smart_app.wording import reader_of, words


@pytest.mark.parametrize("kind, reader", [("clinician", "clinician"), ("patient", "patient"), ("caregiver", "patient"),
                                          (None, "patient")])
def test_a_caregiver_reads_as_the_patients_side(kind, reader):
    assert reader_of(kind) == reader
    assert (reader == "clinician") is words({"kind": kind}).clinician


def test_a_caregiver_gets_the_patients_wording_not_the_clinicians():
    caregiver = skipped_text("Condition", reader_of("caregiver"))
    assert caregiver == skipped_text("Condition", "patient") != skipped_text("Condition", reader_of("clinician"))
    assert "Condition" not in caregiver
