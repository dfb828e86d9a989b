"""Friendly medicine names: RxNorm normalized names -> plain names, never inventing anything.

The display strings are real (tests/medications/data/rxnorm_display_names.tsv, sources in
SOURCES.md); the expected outputs were checked by hand against the input.
"""
from __future__ import annotations

import csv
import re
from decimal import Decimal
from pathlib import Path

import pytest

from smart_app.medications.names import ACTUATION_WORDS, CONNECTORS, DOSE_FORMS, UNITS, friendly_name

DATA = Path(__file__).parent / "data" / "rxnorm_display_names.tsv"


def real_names() -> list[str]:
    """Every display string in the checked-in data set."""
    with DATA.open(encoding="utf-8", newline="") as handle:
        return [row["name"] for row in csv.DictReader(handle, delimiter="\t")]


REAL_NAMES = real_names()

# (RxNorm display, friendly text), all confidently parsed.
EXPECTED = [
    # The three examples.
    ("120 ACTUAT fluticasone propionate 0.044 MG/ACTUAT Metered Dose Inhaler", "Fluticasone inhaler (44 micrograms per puff)"),
    ("metformin hydrochloride 500 MG Oral Tablet", "Metformin 500 mg tablet"),
    ("Nizatidine 15 MG/ML Oral Solution [Axid]", "Axid (nizatidine) 15 mg/mL liquid"),
    # From the data set.
    ("Metformin 500 MG Oral Tablet", "Metformin 500 mg tablet"),
    ("Lisinopril 10 MG Oral Tablet", "Lisinopril 10 mg tablet"),
    ("200 ACTUAT Albuterol 0.09 MG/ACTUAT Metered Dose Inhaler", "Albuterol inhaler (90 micrograms per puff)"),
    ("200 ACTUAT Albuterol 0.09 MG/ACTUAT Metered Dose Inhaler [Ventolin HFA]", "Ventolin HFA (albuterol) inhaler (90 micrograms per puff)"),
    ("120 ACTUAT Triamcinolone 0.055 MG/ACTUAT Nasal Inhaler [Nasacort]", "Nasacort (triamcinolone) nasal spray (55 micrograms per spray)"),
    ("120 ACTUAT mometasone furoate 0.05 MG/ACTUAT Nasal Inhaler [Nasonex]", "Nasonex (mometasone) nasal spray (50 micrograms per spray)"),
    ("120 ACTUAT Budesonide 0.08 MG/ACTUAT / formoterol 0.0045 MG/ACTUAT Metered Dose Inhaler [Symbicort 80/4.5]",
     "Symbicort 80/4.5 (budesonide / formoterol) inhaler (80 micrograms / 4.5 micrograms per puff)"),
    ("60 ACTUAT fluticasone 0.25 MG/ACTUAT / salmeterol 0.05 MG/ACTUAT Dry Powder Inhaler [Advair Diskus 250/50]",
     "Advair Diskus 250/50 (fluticasone / salmeterol) inhaler (250 micrograms / 50 micrograms per puff)"),
    ("tiotropium 0.018 MG/ACTUAT Inhalant Powder [Spiriva]", "Spiriva (tiotropium) inhaler capsule (18 micrograms per dose)"),
    ("Albuterol 0.09 MG/ACTUAT [Proventil]", "Proventil (albuterol) 90 micrograms per dose"),
    ("Albuterol 0.83 MG/ML Inhalant Solution", "Albuterol 0.83 mg/mL nebuliser solution"),
    ("24 HR Metoprolol 25 MG Extended Release Tablet [Toprol-XL]", "Toprol-XL (metoprolol) 25 mg extended-release tablet"),
    ("24 HR venlafaxine 75 MG Extended Release Capsule [Effexor]", "Effexor (venlafaxine) 75 mg extended-release capsule"),
    ("duloxetine 60 MG Enteric Coated Capsule [Cymbalta]", "Cymbalta (duloxetine) 60 mg delayed-release capsule"),
    ("pantoprazole 40 MG Enteric Coated Tablet", "Pantoprazole 40 mg delayed-release tablet"),
    ("Hydrochlorothiazide 12.5 MG / Lisinopril 10 MG Oral Tablet", "Hydrochlorothiazide / lisinopril 12.5 mg / 10 mg tablet"),
    ("Amoxicillin 875 MG / Clavulanate 125 MG Oral Tablet", "Amoxicillin / clavulanate 875 mg / 125 mg tablet"),
    ("Amoxicillin 120 MG/ML / clavulanate potassium 8.58 MG/ML Oral Suspension", "Amoxicillin / clavulanate 120 mg/mL / 8.58 mg/mL liquid"),
    ("Metformin 1000 MG / sitagliptin 50 MG Oral Tablet [Janumet 50/1000]",
     "Janumet 50/1000 (metformin / sitagliptin) 1,000 mg / 50 mg tablet"),
    ("Acetaminophen 650 MG / propoxyphene napsylate 100 MG Oral Tablet", "Acetaminophen / propoxyphene 650 mg / 100 mg tablet"),
    ("Acetaminophen 325 MG [Tylenol]", "Tylenol (acetaminophen) 325 mg"),
    ("Cyclobenzaprine hydrochloride 10 MG Oral Tablet", "Cyclobenzaprine 10 mg tablet"),
    ("Penicillin V Potassium 500 MG Oral Tablet", "Penicillin V 500 mg tablet"),
    ("Diclofenac Sodium 0.01 MG/MG Topical Gel [Voltaren]", "Voltaren (diclofenac) 1% gel"),
    ("Mupirocin 0.02 MG/MG Topical Ointment", "Mupirocin 2% ointment"),
    ("Desonide 0.0005 MG/MG Topical Ointment", "Desonide 0.05% ointment"),
    ("Erythromycin 0.005 MG/MG Ophthalmic Ointment", "Erythromycin 0.5% eye ointment"),
    ("bimatoprost 0.3 MG/ML Ophthalmic Solution [Lumigan]", "Lumigan (bimatoprost) 0.3 mg/mL eye drops"),
    ("Ciprofloxacin 3 MG/ML / Dexamethasone 1 MG/ML Otic Suspension [Ciprodex]",
     "Ciprodex (ciprofloxacin / dexamethasone) 3 mg/mL / 1 mg/mL ear drops"),
    ("Nystatin 100000 UNT/ML Oral Suspension", "Nystatin 100,000 units/mL liquid"),
    ("Nitroglycerin 0.4 MG Sublingual Tablet", "Nitroglycerin 0.4 mg tablet to dissolve under the tongue"),
    ("Thyroxine 0.088 MG Oral Tablet [Synthroid]", "Synthroid (thyroxine) 88 micrograms tablet"),
    ("Triiodothyronine 0.005 MG Oral Tablet", "Triiodothyronine 5 micrograms tablet"),
    ("Thyroxine 0.112 MG Oral Tablet [Levoxyl]", "Levoxyl (thyroxine) 0.112 mg tablet"),
    ("Digoxin 0.25 MG Oral Tablet", "Digoxin 0.25 mg tablet"),
    ("Potassium Chloride 10 MEQ Extended Release Capsule", "Potassium chloride 10 mEq extended-release capsule"),
    ("ferrous sulfate 325 MG [Feosol]", "Feosol (ferrous sulfate) 325 mg"),
    ("chlorhexidine gluconate 1.2 MG/ML Mouthwash", "Chlorhexidine 1.2 mg/mL mouthwash"),
    ("Hydrocortisone 25 MG/ML Rectal Cream [Proctozone HC]", "Proctozone HC (hydrocortisone) 25 mg/mL rectal cream"),
    ("Isosorbide Dinitrate 10 MG Oral Tablet", "Isosorbide dinitrate 10 mg tablet"),
    ("Prednisone Oral Tablet", "Prednisone tablet"),
    # Current RxNorm style, from Synthea's medication cost table.
    ("24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet", "Metformin 500 mg extended-release tablet"),
    ("NDA020800 0.3 ML Epinephrine 1 MG/ML Auto-Injector", "Epinephrine 1 mg/mL auto-injector"),
    ("3 ML liraglutide 6 MG/ML Pen Injector", "Liraglutide 6 mg/mL injection pen"),
    ("168 HR Ethinyl Estradiol 0.00146 MG/HR / norelgestromin 0.00625 MG/HR Transdermal System",
     "Ethinyl estradiol / norelgestromin patch (1.46 micrograms / 6.25 micrograms per hour)"),
    ("Nitroglycerin 0.4 MG/ACTUAT Mucosal Spray", "Nitroglycerin spray (0.4 mg per spray)"),
    ("Insulin Lispro 100 UNT/ML Injectable Solution [Humalog]", "Humalog (insulin lispro) 100 units/mL injection"),
    ("Acetaminophen 325 MG / oxyCODONE Hydrochloride 2.5 MG Oral Tablet", "Acetaminophen / oxycodone 325 mg / 2.5 mg tablet"),
    ("clonazePAM 0.25 MG Oral Tablet", "Clonazepam 0.25 mg tablet"),
    ("duloxetine 20 MG Delayed Release Oral Capsule", "Duloxetine 20 mg delayed-release capsule"),
    ("Naproxen sodium 220 MG Oral Tablet", "Naproxen 220 mg tablet"),
    ("Penicillin G 375 MG/ML Injectable Solution", "Penicillin G 375 mg/mL injection"),
    ("1 ML medroxyprogesterone acetate 150 MG/ML Injection", "Medroxyprogesterone 150 mg/mL injection"),
    ("Levonorgestrel 0.00354 MG/HR Drug Implant", "Levonorgestrel implant (3.54 micrograms per hour)"),
]


@pytest.mark.parametrize(("original", "expected"), EXPECTED)
def test_a_normalized_name_reads_as_a_plain_name_with_a_plain_strength(original: str, expected: str) -> None:
    name = friendly_name(original)
    assert (name.text, name.confident, name.original) == (expected, True, original)


def test_the_expectation_table_is_drawn_from_the_real_data_set() -> None:
    real = set(REAL_NAMES)
    from_data = [original for original, _ in EXPECTED if original in real]
    assert len(from_data) >= 55


@pytest.mark.parametrize("original", [
    "{21 (drospirenone 3 MG / Ethinyl Estradiol 0.03 MG Oral Tablet) / 7 (Inert Ingredients 1 MG Oral Tablet) } Pack [Yasmin 28 Day]",
    "{11 (varenicline 0.5 MG Oral Tablet [Chantix]) / 42 (varenicline 1 MG Oral Tablet [Chantix]) } Pack [Chantix First Month of Therapy]",
    "{4 (Risedronate 35 MG Oral Tablet [Actonel]) } Pack [Actonel 35]",
])
def test_a_branded_pack_is_named_by_its_brand_and_flagged_unsure(original: str) -> None:
    name = friendly_name(original)
    brand = original.rsplit("[", 1)[1].rstrip("]")
    assert (name.text, name.confident) == (f"{brand} pack", False)


@pytest.mark.parametrize("original", [
    "{6 (Azithromycin 250 MG Oral Tablet) } Pack",  # a generic pack: no brand to name it by
    "Yasmin 28 Day Pack",
    "Lisinopril 20mg",  # free text, not a normalized name
    "Xyzal Tablet 5mg",
    "Ventolin HFA",
    "Omeprazole Delayed Release Tablet 20mg",
    "Estrogens, Conjugated (USP) 0.625 MG Oral Tablet [Premarin]",
    "INJECTION, PROMETHAZINE HCL, UP TO 50 MG",
    "Chlorphen-PE-Methscopolamine Syrup 2-10-0.625 MG/5ML",
    "Abuse-Deterrent 12 HR Oxycodone Hydrochloride 15 MG Extended Release Oral Tablet",
    "Breath Actuated 120 ACTUAT beclomethasone dipropionate 0.04 MG/ACTUAT Metered Dose Inhaler [Qvar]",
    "nicotine 21 MG/24HR Transdermal System",  # unit not in the table
    "",
])
def test_a_name_outside_the_pattern_is_returned_whole_and_flagged_unsure(original: str) -> None:
    name = friendly_name(original)
    assert (name.text, name.confident, name.differs) == (original, False, False)


def test_three_ingredients_are_worded_but_flagged_unsure() -> None:
    name = friendly_name("carbinoxamine 0.4 MG/ML / Hydrocodone 1 MG/ML / Pseudoephedrine 6 MG/ML Oral Solution [Histex HC]")
    assert name.text == "Histex HC (carbinoxamine / hydrocodone / pseudoephedrine) 0.4 mg/mL / 1 mg/mL / 6 mg/mL liquid"
    assert name.confident is False


# --- The never-invent property -------------------------------------------------------------

# Words the parser may add: the plain dose forms and units it maps to, and its connectors.
_PLAIN_VOCABULARY = {
    word
    for phrase in [*DOSE_FORMS.values(), *UNITS.values(), *ACTUATION_WORDS.values(), *CONNECTORS, "micrograms"]
    for word in re.findall(r"[a-z]+", phrase.lower())
}
# The only unit conversions the parser makes: mg -> micrograms (x1000), mg/mg -> % (x100).
_SCALES = (Decimal(1), Decimal(1000), Decimal(100))


def invented_parts(original: str, friendly: str) -> list[str]:
    """Words and numbers in ``friendly`` that ``original`` does not contain (after unit conversion)."""
    source_words = set(re.findall(r"[a-z]+", original.lower()))
    source_numbers = {Decimal(n) for n in re.findall(r"\d+(?:\.\d+)?", original)}
    invented = [w for w in re.findall(r"[a-z]+", friendly.lower()) if w not in source_words and w not in _PLAIN_VOCABULARY]
    for number in re.findall(r"\d[\d,]*(?:\.\d+)?", friendly):
        value = Decimal(number.replace(",", ""))
        if not any(value / scale in source_numbers for scale in _SCALES):
            invented.append(number)
    return invented


def test_the_invention_check_catches_an_invented_strength_and_ingredient() -> None:
    original = "metformin hydrochloride 500 MG Oral Tablet"
    assert invented_parts(original, "Metformin 500 mg tablet") == []
    assert invented_parts(original, "Metformin 850 mg tablet") == ["850"]
    assert invented_parts(original, "Metformin / sitagliptin 500 mg tablet") == ["sitagliptin"]


@pytest.mark.parametrize("original", REAL_NAMES)
def test_no_friendly_name_invents_an_ingredient_or_a_strength(original: str) -> None:
    name = friendly_name(original)
    assert invented_parts(original, name.text) == []
    assert name.original == original


def test_most_real_normalized_names_are_understood() -> None:
    normalized = [n for n in REAL_NAMES if re.search(r"\d (MG|MG/ML|MG/ACTUAT|MEQ|UNT/ML|MG/MG)\b", n) and not n.startswith("{")]
    understood = [n for n in normalized if friendly_name(n).confident]
    assert len(REAL_NAMES) >= 350
    assert len(understood) / len(normalized) >= 0.9
