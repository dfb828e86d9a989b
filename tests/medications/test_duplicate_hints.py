"""duplicates.py: an added medicine that shares an ingredient with a listed one gets a hint; nothing else does.

Listed names are real RxNorm display strings: the sandbox's (sandbox/seed.py DRUGS, RxNorm SCDs)
and the public sample-patient names in data/rxnorm_display_names.tsv (sources in data/SOURCES.md).
The brands come from duplicates.BRANDED_DRUGS, RxNorm SBD names with their sources.
"""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from smart_app.medications.duplicates import (BRANDED_DRUGS, SAME_INGREDIENT, brands, ingredient_key, listed_medicine,
                                              possible_duplicates)
from smart_app.medications.model import Coding, MedicationRow
from smart_app.medications.names import brand_of

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
TSV = Path(__file__).parent / "data" / "rxnorm_display_names.tsv"


def _row(key: str, name: str, display: str | None = None) -> MedicationRow:
    """A listed medicine with only what the rule reads (its name, and a coding display when given)."""
    code = Coding(RXNORM, "0", display) if display else None
    return MedicationRow(key=key, name=name, code=code, dosage="", sources=())


# From sandbox/seed.py (RxNorm SCD names as the sandbox serves them) and the public tsv.
LIST = [
    _row("ibu", "ibuprofen 200 MG Oral Tablet"),
    _row("apap", "acetaminophen 500 MG Oral Tablet"),
    _row("met", "metformin hydrochloride 500 MG Oral Tablet"),
    _row("flu", "120 ACTUAT fluticasone propionate 0.044 MG/ACTUAT Metered Dose Inhaler"),
    _row("levo", "levothyroxine sodium 0.05 MG Oral Tablet"),
    _row("lis-hctz", "lisinopril 10 MG / hydrochlorothiazide 12.5 MG Oral Tablet"),
    _row("axid", "Nizatidine 15 MG/ML Oral Solution [Axid]"),
    _row("kcl", "potassium chloride 10 MEQ Extended Release Oral Tablet"),
    _row("vent", "Ventolin HFA"),  # free text, as in the tsv
    _row("glargine", "insulin glargine 100 UNT/ML Pen Injector"),
]


@pytest.mark.parametrize(("typed", "listed", "same"), [
    # The brand-for-generic cases.
    ("Advil", ["ibu"], True),
    ("Tylenol", ["apap"], True),
    ("Glucophage", ["met"], True),
    ("Flovent", ["flu"], True),
    # Case, spacing, strength and salt words do not matter.
    ("  ADVIL   200mg ", ["ibu"], True),
    ("ibuprofen", ["ibu"], True),
    ("Metformin Hydrochloride", ["met"], True),
    ("metformin HCl 500", ["met"], True),
    ("Glucophage XR", ["met"], True),
    ("fluticasone furoate", ["flu"], True),
    # International names and RxNorm's older name for the same ingredient.
    ("paracetamol 1 g", ["apap"], True),
    ("Synthroid", ["levo"], True),
    ("salbutamol inhaler", ["vent"], True),
    ("albuterol", ["vent"], True),
    # A brand the list itself carries in brackets.
    ("Axid", ["axid"], True),
    ("nizatidine", ["axid"], True),
    # A combination shares one ingredient with a listed medicine: a hint, not "the same".
    ("Advair Diskus", ["flu"], False),
    ("hydrochlorothiazide 25 mg", ["lis-hctz"], False),
    ("lisinopril", ["lis-hctz"], False),
    ("Potassium chloride", ["kcl"], True),
])
def test_an_added_medicine_sharing_a_listed_ingredient_gets_a_hint(typed, listed, same) -> None:
    found = possible_duplicates(LIST, typed)
    assert [m.row.key for m in found] == listed
    assert [m.same for m in found] == [same] * len(listed)


@pytest.mark.parametrize("typed", [
    "", "   ", "Vitamin D3", "insulin",  # "insulin" is not "insulin glargine"
    "Ibuprofenol", "Advilx",  # part of a word never matches
    "sodium chloride", "potassium citrate",  # a salt word alone is not an ingredient
    "naproxen", "Aleve", "Zoloft",  # not on this list (Aleve is not in the brand table: no guess)
    "200 mg", "twice a day",
])
def test_no_hint_is_claimed_the_data_does_not_support(typed) -> None:
    assert possible_duplicates(LIST, typed) == []


def test_the_hint_names_the_listed_medicine_in_plain_words() -> None:
    (match,) = possible_duplicates(LIST, "Advil")
    assert match.hint == "You already have Ibuprofen 200 mg tablet on your list. Is this the same medicine?"
    (shared,) = possible_duplicates(LIST, "Advair")
    assert shared.hint == ("Fluticasone is also in Fluticasone inhaler (44 micrograms per puff) on your list. "
                           "Is this the same medicine?")
    assert "[" not in match.hint and "MG" not in shared.hint


def test_a_listed_free_text_name_is_read_by_its_leading_words_and_brands() -> None:
    rows = [_row("a", "Lisinopril 20mg"), _row("b", "Tylenol PM Pill")]
    assert [m.row.key for m in possible_duplicates(rows, "lisinopril 5 mg")] == ["a"]
    assert [m.row.key for m in possible_duplicates(rows, "acetaminophen")] == ["b"]


def test_a_coding_display_counts_as_well_as_the_name_shown() -> None:
    row = _row("a", "My pain tablets", display="ibuprofen 200 MG Oral Tablet [Advil]")
    assert [m.row.key for m in possible_duplicates([row], "Advil")] == ["a"]
    assert [m.row.key for m in possible_duplicates([row], "ibuprofen")] == ["a"]


def test_a_medicine_the_record_does_not_name_is_never_matched() -> None:
    assert possible_duplicates([_row("u", "Unknown medicine")], "unknown medicine") == []


def test_several_listed_medicines_with_the_ingredient_are_all_named_in_list_order() -> None:
    rows = [_row("x", "Acetaminophen 325 MG [Tylenol]"), _row("y", "acetaminophen 500 MG Oral Tablet")]
    assert [m.row.key for m in possible_duplicates(rows, "Tylenol")] == ["x", "y"]


@pytest.mark.parametrize(("brand", "ingredients"), [
    ("advil", {("ibuprofen",)}), ("tylenol", {("acetaminophen",)}), ("glucophage", {("metformin",)}),
    ("flovent", {("fluticasone",)}), ("advair", {("fluticasone",), ("salmeterol",)}),
    ("ventolin", {("albuterol",)}), ("symbicort", {("budesonide",), ("formoterol",)}),
    ("toprol", {("metoprolol",)}), ("synthroid", {("levothyroxine",)}), ("humalog", {("insulin", "lispro")}),
])
def test_the_brand_table_reads_each_brand_s_ingredients_from_its_rxnorm_name(brand, ingredients) -> None:
    assert brands()[(brand,)] == frozenset(ingredients)


def test_every_brand_table_entry_is_a_branded_rxnorm_name_with_a_source() -> None:
    for name, source in BRANDED_DRUGS:
        assert brand_of(name), name
        assert source.startswith(("RxCUI ", "tsv (")), name
        assert listed_medicine(_row("r", name)).ingredients, name


def test_the_brand_table_s_tsv_entries_are_copied_from_the_public_data_verbatim() -> None:
    with TSV.open(encoding="utf-8", newline="") as handle:
        published = {(row["source"], row["name"]) for row in csv.DictReader(handle, delimiter="\t")}
    for name, source in BRANDED_DRUGS:
        if source.startswith("tsv ("):
            assert (source[5:-1], name) in published, name


def test_no_ingredient_is_invented_for_any_real_name() -> None:
    """Every ingredient read from a real display string is spelled, word for word, in that string
    (or is the US name of one spelled there)."""
    with TSV.open(encoding="utf-8", newline="") as handle:
        names = [row["name"] for row in csv.DictReader(handle, delimiter="\t")]
    inverse = {usan: inn for inn, usan in SAME_INGREDIENT.items()}
    for name in names:
        spelled = set(ingredient_key(name)) | set(ingredient_key(name.replace("/", " ")))
        for key in listed_medicine(_row("r", name)).ingredients:
            brand_held = any(key in held for held in brands().values())
            assert all(w in spelled or inverse.get(w) in spelled for w in key) or brand_held, (name, key)
