"""parse_review validates the posted review and says how to fix each problem."""
from datetime import date

import pytest

from smart_app.medications import (
    AddedMedicine,
    added_block_count,
    parse_review,
    review_form_values,
    review_rows,
)
from tests.medications.builders import request, rx_concept

TODAY = date(2026, 3, 15)


@pytest.fixture
def rows():
    """Two medicines: keys rx-1 (Lisinopril) and rx-2 (Metformin)."""
    return review_rows([
        request("1", {"medicationCodeableConcept": rx_concept("314076", "Lisinopril 10 MG Oral Tablet")}),
        request("2", {"medicationCodeableConcept": rx_concept("860975", "Metformin 500 MG Oral Tablet")}),
    ])


def answered(**overrides):
    """A complete, valid form, with some fields replaced."""
    form = {"med.rx-1.status": "taking", "med.rx-2.status": "taking", "csrf_token": "t", "action": "submit"}
    form.update({k.replace("__", "."): v for k, v in overrides.items()})
    return form


def test_all_taking_is_valid(rows):
    review, errors = parse_review(rows, answered(), today=TODAY)
    assert errors == {}
    assert [(r.row.key, r.status) for r in review.reports] == [("rx-1", "taking"), ("rx-2", "taking")]
    assert review.added == []


def test_taking_differently_keeps_how(rows):
    review, errors = parse_review(rows, answered(**{"med__rx-1__status": "different", "med__rx-1__how": "  half a tablet  "}), today=TODAY)
    assert errors == {}
    assert review.reports[0].how_different == "half a tablet"


def test_not_taking_keeps_since_why_and_side_effects(rows):
    form = answered(**{"med__rx-2__status": "not-taking", "med__rx-2__since": "2026-01", "med__rx-2__why": "side-effects",
                       "med__rx-2__side_effects": "stomach ache"})
    review, errors = parse_review(rows, form, today=TODAY)
    assert errors == {}
    report = review.reports[1]
    assert (report.status, report.since, report.why_not, report.side_effects) == ("not-taking", "2026-01", "side-effects", "stomach ache")


def test_other_reason_keeps_the_patients_words_trimmed(rows):
    form = answered(**{"med__rx-2__status": "not-taking", "med__rx-2__why": "other", "med__rx-2__why_other": "  ran out of refills \n"})
    review, errors = parse_review(rows, form, today=TODAY)
    assert errors == {}
    report = review.reports[1]
    assert (report.why_not, report.why_other, report.why_not_text) == ("other", "ran out of refills", "Other reason (ran out of refills)")


@pytest.mark.parametrize("words", [None, "", "   "])
def test_other_reason_words_are_optional(rows, words):
    form = answered(**{"med__rx-2__status": "not-taking", "med__rx-2__why": "other"})
    if words is not None:
        form["med.rx-2.why_other"] = words
    review, errors = parse_review(rows, form, today=TODAY)
    assert errors == {}
    assert (review.reports[1].why_not, review.reports[1].why_other, review.reports[1].why_not_text) == ("other", None, "Other reason")


def test_other_reason_words_at_the_limit_are_kept(rows):
    form = answered(**{"med__rx-2__status": "not-taking", "med__rx-2__why": "other", "med__rx-2__why_other": "w" * 500})
    review, errors = parse_review(rows, form, today=TODAY)
    assert errors == {}
    assert review.reports[1].why_other == "w" * 500


@pytest.mark.parametrize("overrides", [
    {"med__rx-1__status": "not-taking", "med__rx-1__why": "cost"},
    {"med__rx-1__status": "taking", "med__rx-1__why": "other"},
    {"med__rx-1__status": "different", "med__rx-1__how": "half", "med__rx-1__why": "other"},
])
def test_other_reason_words_are_ignored_unless_other_reason_applies(rows, overrides):
    """Left over from an earlier choice, even over-long: not kept, and no error for a field that does not apply."""
    review, errors = parse_review(rows, answered(**overrides, **{"med__rx-1__why_other": "x" * 501}), today=TODAY)
    assert errors == {}
    assert review.reports[0].why_other is None
    assert "(" not in (review.reports[0].why_not_text or "")


def test_follow_ups_of_other_answers_are_dropped(rows):
    """A since-date left over from an earlier choice is not kept when the answer is "taking"."""
    form = answered(**{"med__rx-1__how": "old text", "med__rx-1__since": "2020-01-01", "med__rx-1__why": "cost"})
    review, errors = parse_review(rows, form, today=TODAY)
    assert errors == {}
    report = review.reports[0]
    assert (report.how_different, report.since, report.why_not) == (None, None, None)


def test_since_today_is_allowed(rows):
    form = answered(**{"med__rx-1__status": "not-taking", "med__rx-1__why": "cost", "med__rx-1__since": "2026-03-15"})
    _, errors = parse_review(rows, form, today=TODAY)
    assert errors == {}


BAD_INPUTS = [
    ({"med__rx-1__status": ""}, "med.rx-1.status", "Tell us whether you are taking Lisinopril 10 mg tablet."),
    ({"med__rx-1__status": "maybe"}, "med.rx-1.status", "Choose one of the answers for Lisinopril 10 mg tablet."),
    ({"med__rx-1__status": "different"}, "med.rx-1.how", "Tell us how you take it differently."),
    ({"med__rx-1__status": "different", "med__rx-1__how": "   "}, "med.rx-1.how", "Tell us how you take it differently."),
    ({"med__rx-1__status": "different", "med__rx-1__how": "x" * 501}, "med.rx-1.how", "Keep this under 500 characters."),
    ({"med__rx-1__status": "not-taking"}, "med.rx-1.why", "Tell us why you are not taking it."),
    ({"med__rx-1__status": "not-taking", "med__rx-1__why": "bored"}, "med.rx-1.why", "Choose one of the reasons."),
    ({"med__rx-1__status": "not-taking", "med__rx-1__why": "cost", "med__rx-1__since": "2026-03-16"},
     "med.rx-1.since", "The date you stopped must be today or earlier."),
    ({"med__rx-1__status": "not-taking", "med__rx-1__why": "cost", "med__rx-1__since": "2027"},
     "med.rx-1.since", "The date you stopped must be today or earlier."),
    ({"med__rx-1__status": "not-taking", "med__rx-1__why": "cost", "med__rx-1__since": "last week"},
     "med.rx-1.since", "Enter the date you stopped as a date, for example 2024-03-01."),
    ({"med__rx-1__status": "not-taking", "med__rx-1__why": "cost", "med__rx-1__since": "2025-02-30"},
     "med.rx-1.since", "Enter a real date, for example 2024-03-01."),
    ({"med__rx-1__side_effects": "y" * 501}, "med.rx-1.side_effects", "Keep this under 500 characters."),
    ({"med__rx-1__status": "not-taking", "med__rx-1__why": "other", "med__rx-1__why_other": "o" * 501},
     "med.rx-1.why_other", "Keep your other reason to 500 characters or fewer."),
    ({"add__0__dose": "200 mg"}, "add.0.name", "Tell us the name of the medicine you added."),
    ({"add__3__often": "daily"}, "add.3.name", "Tell us the name of the medicine you added."),
    ({"add__0__name": "z" * 501}, "add.0.name", "Keep this under 500 characters."),
]


@pytest.mark.parametrize(("overrides", "field", "message"), BAD_INPUTS, ids=[f"{b[1]}:{b[2][:30]}" for b in BAD_INPUTS])
def test_bad_input_gives_a_message_on_its_field(rows, overrides, field, message):
    form = answered(**overrides)
    _, errors = parse_review(rows, form, today=TODAY)
    assert errors == {field: message}


def test_missing_status_for_every_row_names_each_medicine(rows):
    _, errors = parse_review(rows, {}, today=TODAY)
    assert errors == {
        "med.rx-1.status": "Tell us whether you are taking Lisinopril 10 mg tablet.",
        "med.rx-2.status": "Tell us whether you are taking Metformin 500 mg tablet.",
    }


def test_added_medicines_skip_blank_blocks_and_keep_order(rows):
    form = answered(**{
        "add__0__name": "Ibuprofen", "add__0__dose": "200 mg", "add__0__often": "when needed",
        "add__1__name": "", "add__1__dose": "", "add__1__often": "",
        "add__2__name": "Vitamin D",
    })
    review, errors = parse_review(rows, form, today=TODAY)
    assert errors == {}
    assert review.added == [AddedMedicine("Ibuprofen", "200 mg", "when needed"), AddedMedicine("Vitamin D", None, None)]


def test_form_values_keep_only_review_fields_for_drafts():
    form = {"med.rx-1.status": "taking", "med.rx-1.why_other": "ran out", "add.0.name": "Ibuprofen", "add.count": "2",
            "csrf_token": "secret", "action": "submit", "add.x.name": "no"}
    assert review_form_values(form) == {"med.rx-1.status": "taking", "med.rx-1.why_other": "ran out", "add.0.name": "Ibuprofen",
                                        "add.count": "2"}


@pytest.mark.parametrize(
    ("form", "action", "expected"),
    [
        ({}, None, 1),
        ({}, "add-medicine", 1),
        ({"add.count": "1"}, "add-medicine", 2),
        ({"add.0.name": "a", "add.1.name": ""}, None, 2),
        ({"add.0.name": "a", "add.1.name": ""}, "add-medicine", 3),
        ({"add.count": "3", "add.0.name": "a"}, None, 3),
        ({"add.count": "999"}, "add-medicine", 20),
        ({"add.count": "-4"}, None, 1),
    ],
)
def test_added_block_count(form, action, expected):
    assert added_block_count(form, action) == expected
