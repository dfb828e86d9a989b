"""Does a medicine the patient adds look like one already on the list? Pure, table-driven.

A listed medicine is known by its ingredients: RxNorm normalized names (SCD/SBD) carry them
("metformin hydrochloride 500 MG Oral Tablet"), and branded names carry the brand in brackets
("ibuprofen 200 MG Oral Tablet [Advil]"); see "RxNorm Technical Documentation", section
"Normalized names" (https://www.nlm.nih.gov/research/umls/rxnorm/docs/techdoc.html). What a person
types ("Advil", "metformin 500mg", "Tylenol PM") is read against the listed ingredients and a
small table of brands. That table is itself made of RxNorm SBD names, so a brand's ingredients
always come from RxNorm's own text, never from us.

The rule is conservative: a hint names a listed medicine only when the typed words hold one of
its ingredients (or a brand whose RxNorm name holds one) as whole words. Case, spacing, salt
words ("hydrochloride") and punctuation do not matter; a part of a word never matches ("insulin"
is not "insulin glargine", "ibuprofenol" is not "ibuprofen"). When nothing can be read, there is
no hint: none is better than a wrong one. A hint never stops the person adding the medicine.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Mapping, Sequence

from smart_app.text import Text

from .model import MedicationRow
from .names import brand_of, ingredients
from .rows import UNKNOWN_MEDICINE

Words = tuple[str, ...]

# Branded drugs as RxNorm names them (term type SBD): "<ingredients, strengths, dose form> [Brand]".
# The brand -> ingredient map is read from these names by the same parser as the list's names.
# Sources: RxNorm (U.S. National Library of Medicine; public domain), by RxCUI where we quote one;
# names marked "tsv" are also in tests/medications/data/rxnorm_display_names.tsv (its SOURCES.md
# cites the public sample-patient data sets they were copied from).
BRANDED_DRUGS: tuple[tuple[str, str], ...] = (
    ("ibuprofen 200 MG Oral Tablet [Advil]", "RxCUI 153008"),
    ("Acetaminophen 325 MG [Tylenol]", "tsv (smart-stu3)"),
    ("Metformin hydrochloride 500 MG [Glucophage]", "tsv (smart-stu3)"),
    ("120 ACTUAT fluticasone propionate 0.044 MG/ACTUAT Metered Dose Inhaler [Flovent]", "RxCUI 895996"),
    ("120 ACTUAT fluticasone propionate 0.11 MG/ACTUAT Metered Dose Inhaler [Flovent]", "RxCUI 896001"),
    ("60 ACTUAT Fluticasone propionate 0.045 MG/ACTUAT / salmeterol 0.021 MG/ACTUAT Metered Dose Inhaler [Advair]",
     "tsv (smart-stu3)"),
    ("200 ACTUAT Albuterol 0.09 MG/ACTUAT Metered Dose Inhaler [Ventolin HFA]", "tsv (smart-stu3)"),
    ("200 ACTUAT Albuterol 0.09 MG/ACTUAT Metered Dose Inhaler [ProAir HFA]", "tsv (smart-stu3)"),
    ("Albuterol 0.09 MG/ACTUAT [Proventil]", "tsv (smart-stu3)"),
    ("120 ACTUAT Budesonide 0.08 MG/ACTUAT / formoterol 0.0045 MG/ACTUAT Metered Dose Inhaler [Symbicort 80/4.5]",
     "tsv (smart-stu3)"),
    ("Lisinopril 5 MG [Prinivil]", "tsv (smart-stu3)"),
    ("atorvastatin 20 MG Oral Tablet [Lipitor]", "tsv (smart-stu3)"),
    ("rosuvastatin 10 MG Oral Tablet [Crestor]", "tsv (smart-stu3)"),
    ("Aspirin 81 MG [Ecotrin]", "tsv (smart-stu3)"),
    ("Warfarin 5 MG Oral Tablet [Coumadin]", "tsv (smart-stu3)"),
    ("clopidogrel 75 MG Oral Tablet [Plavix]", "tsv (smart-stu3)"),
    ("Sertraline 100 MG Oral Tablet [Zoloft]", "tsv (smart-stu3)"),
    ("Escitalopram 10 MG Oral Tablet [Lexapro]", "tsv (smart-stu3)"),
    ("Cetirizine 10 MG Oral Tablet [Zyrtec]", "tsv (smart-stu3)"),
    ("Thyroxine 0.1 MG Oral Tablet [Synthroid]", "tsv (smart-stu3)"),
    ("Thyroxine 0.112 MG Oral Tablet [Levoxyl]", "tsv (smart-stu3)"),
    ("metoprolol succinate 25 MG [Toprol]", "tsv (smart-stu3)"),
    ("24 HR Metoprolol 25 MG Extended Release Tablet [Toprol-XL]", "tsv (smart-stu3)"),
    ("valsartan 80 MG Oral Tablet [Diovan]", "tsv (smart-stu3)"),
    ("irbesartan 150 MG Oral Tablet [Avapro]", "tsv (smart-stu3)"),
    ("Hydrochlorothiazide 12.5 MG / irbesartan 150 MG Oral Tablet [Avalide 150/12.5]", "tsv (smart-stu3)"),
    ("montelukast 10 MG Oral Tablet [Singulair]", "tsv (smart-stu3)"),
    ("pantoprazole 40 MG Enteric Coated Tablet [Protonix]", "tsv (smart-stu3)"),
    ("lansoprazole 30 MG Enteric Coated Capsule [Prevacid]", "tsv (smart-stu3)"),
    ("celecoxib 200 MG Oral Capsule [Celebrex]", "tsv (smart-stu3)"),
    ("Metformin 1000 MG / sitagliptin 50 MG Oral Tablet [Janumet 50/1000]", "tsv (smart-stu3)"),
    ("glimepiride 1 MG Oral Tablet [Amaryl]", "tsv (smart-stu3)"),
    ("ezetimibe 10 MG Oral Tablet [Zetia]", "tsv (smart-stu3)"),
    ("Digoxin 0.25 MG Oral Tablet [Lanoxin]", "tsv (smart-stu3)"),
    ("Insulin Lispro 100 UNT/ML Injectable Solution [Humalog]", "tsv (synthea-costs)"),
)

# One ingredient under two names: the US adopted name (what RxNorm writes) and the international
# nonproprietary name people outside the US (and Spanish speakers) use, or RxNorm's older name.
# https://www.who.int/teams/health-product-and-policy-standards/inn (INN) and the USAN Council's
# list of adopted names; RxNorm wrote "Thyroxine" for levothyroxine in older releases (see the tsv).
SAME_INGREDIENT: dict[str, str] = {
    "paracetamol": "acetaminophen",
    "salbutamol": "albuterol",
    "thyroxine": "levothyroxine",
}

# Words after a brand that name a device or a release form, not other ingredients
# ("Ventolin HFA", "Toprol-XL", "Glucophage XR"): the brand is known without them.
BRAND_SUFFIXES: frozenset[str] = frozenset({"hfa", "xl", "xr", "er", "sr", "cr", "la", "diskus"})

_WORD = re.compile(r"[a-z0-9]+")
_STRENGTH = re.compile(r"^[0-9][0-9./]*$")


@dataclass(frozen=True)
class Medicine:
    """What a name tells about a medicine: its ingredients as word tuples (salt-free, one spelling)."""

    ingredients: frozenset[Words]


@dataclass(frozen=True)
class Match:
    """A listed medicine the added one may be: the ingredients both hold, and whether they hold the same set."""

    row: MedicationRow
    shared: tuple[str, ...]
    same: bool

    @property
    def hint(self) -> Text:
        """The hint in plain words, naming the listed medicine as the list shows it."""
        name = self.row.friendly.text
        if self.same:
            return Text("You already have %(name)s on your list. Is this the same medicine?", name=name)
        shared = [self.shared[0][:1].upper() + self.shared[0][1:], *self.shared[1:]]
        if len(shared) == 1:
            return Text("%(ingredient)s is also in %(name)s on your list. Is this the same medicine?",
                        ingredient=shared[0], name=name)
        return Text("%(ingredients)s are also in %(name)s on your list. Is this the same medicine?",
                    ingredients=shared, name=name)


def words(text: str) -> Words:
    """Lower-case words and numbers of a text ("Toprol-XL 25mg" -> toprol, xl, 25mg)."""
    return tuple(_WORD.findall(text.casefold()))


def ingredient_key(name: str) -> Words:
    """One spelling of a plain ingredient name (names.ingredients has dropped its salt): words, INN -> USAN."""
    return tuple(SAME_INGREDIENT.get(w, w) for w in words(name))


def _brand_key(brand: str) -> Words:
    """A brand as people write it: no strength ("Avalide 150/12.5") or device word ("Ventolin HFA")."""
    found = [w for w in words(brand.replace("/", " ")) if not _STRENGTH.match(w)]
    while len(found) > 1 and found[-1] in BRAND_SUFFIXES:
        found.pop()
    return tuple(found)


def _ingredients_of_rxnorm(name: str) -> frozenset[Words]:
    """The ingredients an RxNorm-style name spells out (the brand in brackets left aside)."""
    brand = brand_of(name)
    listed = [i for i in ingredients(name) if brand is None or i != brand.casefold()]
    return frozenset(k for k in (ingredient_key(i) for i in listed) if k)


@lru_cache(maxsize=1)
def brands() -> dict[Words, frozenset[Words]]:
    """Brand (as typed) -> its ingredients, from BRANDED_DRUGS; brands of one name share their ingredients."""
    out: dict[Words, frozenset[Words]] = {}
    for name, _source in BRANDED_DRUGS:
        brand = brand_of(name)
        if brand:
            key = _brand_key(brand)
            out[key] = out.get(key, frozenset()) | _ingredients_of_rxnorm(name)
    return out


def _contains(haystack: Words, needle: Words) -> bool:
    """True when the words of `needle` appear side by side, in order, in `haystack`."""
    size = len(needle)
    return bool(size) and any(haystack[i:i + size] == needle for i in range(len(haystack) - size + 1))


def _normalised(text: str) -> Words:
    """The words of a typed name with INN names turned into the US ones."""
    return tuple(SAME_INGREDIENT.get(w, w) for w in words(text))


def recognise(text: str, vocabulary: Iterable[Words] = (), more_brands: Mapping[Words, frozenset[Words]] | None = None,
              *, leading_words: bool = False) -> Medicine:
    """The ingredients a name tells: those it spells as RxNorm does, those of any brand (the table's and
    `more_brands`) and of any of `vocabulary` (ingredients we know of) that its words hold whole.

    With `leading_words`, a name that is neither an RxNorm name nor a known brand counts its leading
    words as one ingredient ("Lisinopril 20mg" -> lisinopril), as a list's free-text names are read.
    """
    typed = _normalised(text)
    found: set[Words] = set()
    for brand, held in [*brands().items(), *(more_brands or {}).items()]:
        if _contains(typed, brand):
            found |= held
    normalized = brand_of(text) is not None or _looks_normalized(text)
    if normalized or (leading_words and not found):
        found |= _ingredients_of_rxnorm(text)
    found |= {key for key in vocabulary if _contains(typed, key)}
    return Medicine(frozenset(found))


def _looks_normalized(text: str) -> bool:
    """An RxNorm normalized name has a strength in capital units ("500 MG", "0.09 MG/ACTUAT")."""
    return re.search(r"\d\s+(?:MG|MCG|UNT|MEQ|ML)\b", text) is not None


def _names(row: MedicationRow) -> list[str]:
    """A listed medicine's names: the one shown and its coding's display (often the RxNorm name); never the
    placeholder shown for a medicine the record does not name."""
    names = [row.name] + ([row.code.display] if row.code is not None and row.code.display else [])
    return [name for name in names if name != UNKNOWN_MEDICINE]


def listed_medicine(row: MedicationRow) -> Medicine:
    """What the list says about one row: every name it has, each read the same way."""
    found: set[Words] = set()
    for name in _names(row):
        found |= recognise(name, leading_words=True).ingredients
    return Medicine(frozenset(found))


def possible_duplicates(rows: Sequence[MedicationRow], typed: str) -> list[Match]:
    """Listed medicines that share an ingredient with a typed name, in list order; [] when none can be told."""
    if not typed.strip():
        return []
    listed = [(row, listed_medicine(row)) for row in rows]
    vocabulary = {key for _row, medicine in listed for key in medicine.ingredients}
    # A brand the list itself names ("... [Axid]") is known by the ingredients its row spells out.
    listed_brands = {_brand_key(brand): medicine.ingredients for row, medicine in listed
                     for brand in map(brand_of, _names(row)) if brand}
    added = recognise(typed, vocabulary, listed_brands).ingredients
    matches = []
    for row, medicine in listed:
        shared = added & medicine.ingredients
        if shared:
            matches.append(Match(row, tuple(sorted(" ".join(k) for k in shared)), added == medicine.ingredients))
    return matches
