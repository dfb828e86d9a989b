"""RxNorm normalized names -> plain medicine names a patient recognises.

RxNorm writes clinical and branded drugs (term types SCD, SBD, and the packs GPCK, BPCK) as
``[quantity] ingredient strength [/ ingredient strength ...] dose form [Brand]``; see
"RxNorm Technical Documentation", section "Normalized names"
(https://www.nlm.nih.gov/research/umls/rxnorm/docs/techdoc.html). For example
"120 ACTUAT fluticasone propionate 0.044 MG/ACTUAT Metered Dose Inhaler" becomes
"Fluticasone inhaler (44 micrograms per puff)".

Everything is driven by the tables below; nothing is looked up. The parser only drops or
rewords what the input says (a package size, a salt, a unit written in capitals): it never adds
an ingredient or a strength. When a name does not fit the pattern it returns the original,
flagged as not confident, so the caller shows the original in full.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

# RxNorm dose forms (https://www.nlm.nih.gov/research/umls/rxnorm/docs/appendix2.html) -> plain
# words. Older names seen in real records ("Enteric Coated Tablet", "Inhalant Solution") included.
DOSE_FORMS: dict[str, str] = {
    "Oral Tablet": "tablet",
    "Tablet": "tablet",
    "Chewable Tablet": "chewable tablet",
    "Disintegrating Oral Tablet": "tablet that dissolves in the mouth",
    "Sublingual Tablet": "tablet to dissolve under the tongue",
    "Extended Release Oral Tablet": "extended-release tablet",
    "Extended Release Tablet": "extended-release tablet",
    "Delayed Release Oral Tablet": "delayed-release tablet",
    "Enteric Coated Tablet": "delayed-release tablet",
    "Oral Capsule": "capsule",
    "Capsule": "capsule",
    "Extended Release Oral Capsule": "extended-release capsule",
    "Extended Release Capsule": "extended-release capsule",
    "Delayed Release Oral Capsule": "delayed-release capsule",
    "Enteric Coated Capsule": "delayed-release capsule",
    "Oral Solution": "liquid",
    "Oral Suspension": "liquid",
    "Extended Release Suspension": "extended-release liquid",
    "Extended Release Oral Suspension": "extended-release liquid",
    "Oral Powder": "powder",
    "Mouthwash": "mouthwash",
    "Metered Dose Inhaler": "inhaler",
    "Dry Powder Inhaler": "inhaler",
    "Inhalation Powder": "inhaler capsule",
    "Inhalant Powder": "inhaler capsule",
    "Inhalation Solution": "nebuliser solution",
    "Inhalant Solution": "nebuliser solution",
    "Inhalation Suspension": "nebuliser solution",
    "Nasal Spray": "nasal spray",
    "Metered Dose Nasal Spray": "nasal spray",
    "Nasal Inhaler": "nasal spray",
    "Mucosal Spray": "spray",
    "Injectable Solution": "injection",
    "Injectable Suspension": "injection",
    "Injection": "injection",
    "Pen Injector": "injection pen",
    "Auto-Injector": "auto-injector",
    "Prefilled Syringe": "prefilled syringe",
    "Topical Cream": "cream",
    "Topical Ointment": "ointment",
    "Topical Gel": "gel",
    "Topical Lotion": "lotion",
    "Topical Solution": "solution for the skin",
    "Rectal Cream": "rectal cream",
    "Rectal Suppository": "suppository",
    "Vaginal Cream": "vaginal cream",
    "Vaginal Ring": "vaginal ring",
    "Ophthalmic Solution": "eye drops",
    "Ophthalmic Suspension": "eye drops",
    "Ophthalmic Ointment": "eye ointment",
    "Otic Solution": "ear drops",
    "Otic Suspension": "ear drops",
    "Transdermal System": "patch",
    "Drug Implant": "implant",
    "Intrauterine System": "intrauterine device",
}

# RxNorm strength units -> plain units. A unit "per actuation" is worded by the dose form.
UNITS: dict[str, str] = {
    "MG": "mg",
    "MCG": "micrograms",
    "UNT": "units",
    "MEQ": "mEq",
    "ML": "mL",
    "MG/ML": "mg/mL",
    "MCG/ML": "micrograms/mL",
    "UNT/ML": "units/mL",
    "MEQ/ML": "mEq/mL",
    "MG/HR": "per hour",
    "MG/ACTUAT": "per actuation",
    "MCG/ACTUAT": "per actuation",
    "MG/MG": "%",
    "%": "%",
}

# What one actuation is called, by plain dose form; anything else is "per dose".
ACTUATION_WORDS: dict[str, str] = {
    "inhaler": "puff",
    "nasal spray": "spray",
    "spray": "spray",
}

# Salt and ester words dropped from an ingredient, where the plain name is the standard one
# ("metformin hydrochloride" -> "metformin"). Never dropped when what is left is itself only a
# mineral ("potassium chloride", "ferrous sulfate" stay whole).
SALTS: frozenset[str] = frozenset({
    "hydrochloride", "hcl", "hydrobromide", "sodium", "disodium", "potassium", "propionate",
    "dipropionate", "furoate", "succinate", "tartrate", "bitartrate", "besylate", "maleate",
    "mesylate", "fumarate", "monohydrate", "hyclate", "napsylate", "sulfate", "medoxomil",
    "acetate", "citrate", "gluconate", "bromide", "phosphate",
})
_MINERALS = frozenset({"potassium", "sodium", "calcium", "magnesium", "ferrous", "zinc", "iron", "lithium"})

# Connecting words the friendly name may use that are not in the input.
CONNECTORS: frozenset[str] = frozenset({"per", "pack", "dose", "hour"})

_NUMBER = r"\d+(?:\.\d+)?"
_APPLICATION_PREFIX = re.compile(r"^(?:NDA|ANDA|BLA)\d+\s+")
_QUANTITY_PREFIX = re.compile(rf"^(?:{_NUMBER})\s+(?:ACTUAT|HR|ML|DAY|MG)\s+")
_BRAND = re.compile(r"\s*\[([^\[\]]+)\]$")
_COMPONENT = re.compile(rf"^(?P<name>[A-Za-z][A-Za-z ,()'-]*?)(?:\s+(?P<value>{_NUMBER})\s*(?P<unit>[A-Z%][A-Z/%]*))?$")
# Forms matched longest first, so "Extended Release Oral Tablet" wins over "Oral Tablet".
_FORMS_BY_LENGTH = sorted(DOSE_FORMS, key=len, reverse=True)
_MICROGRAMS_BELOW = Decimal("0.1")
_MICROGRAM_FORMS = frozenset({"inhaler", "inhaler capsule", "nasal spray"})


@dataclass(frozen=True)
class FriendlyName:
    """A medicine name for a patient, with the original it came from.

    ``confident`` is False when the parser was unsure; the caller must then show ``original``
    in full next to ``text`` (``text`` may equal ``original``).
    """

    text: str
    original: str
    confident: bool

    @property
    def differs(self) -> bool:
        """True when the friendly text is not just the original again."""
        return self.text != self.original


@dataclass(frozen=True)
class _Component:
    """One ingredient of a name with its strength, as written in the input."""

    name: str
    value: Decimal | None
    unit: str | None


def friendly_name(original: str) -> FriendlyName:
    """The plain name for an RxNorm display string, or the original flagged as unsure."""
    name = " ".join(original.split())
    if not name:
        return FriendlyName(original, original, False)
    brand_match = _BRAND.search(name)
    brand = brand_match.group(1).strip() if brand_match else None
    body = name[: brand_match.start()] if brand_match else name
    if body.startswith("{") or body.endswith(" Pack"):
        return _pack(original, brand)
    body = _APPLICATION_PREFIX.sub("", body)
    while _QUANTITY_PREFIX.match(body):
        body = _QUANTITY_PREFIX.sub("", body, count=1)
    form, body = _split_form(body)
    components = _components(body)
    if components is None or (form is None and all(c.value is None for c in components)):
        return FriendlyName(original, original, False)
    text, sure = _compose(components, form, brand)
    if text is None:
        return FriendlyName(original, original, False)
    return FriendlyName(text, original, sure)


def _pack(original: str, brand: str | None) -> FriendlyName:
    """Packs (GPCK/BPCK) hold several products; name the brand when there is one, never sure."""
    if brand:
        return FriendlyName(f"{brand} pack", original, False)
    return FriendlyName(original, original, False)


def _split_form(body: str) -> tuple[str | None, str]:
    """The plain dose form at the end of ``body`` and what comes before it."""
    for form in _FORMS_BY_LENGTH:
        if body == form:
            return DOSE_FORMS[form], ""
        if body.endswith(" " + form):
            return DOSE_FORMS[form], body[: -len(form) - 1].strip()
    return None, body


def _components(body: str) -> list[_Component] | None:
    """Ingredients with their strengths, split on " / "; None when any part does not parse."""
    if not body:
        return None
    out: list[_Component] = []
    for part in body.split(" / "):
        match = _COMPONENT.match(part.strip())
        if match is None:
            return None
        unit = match.group("unit")
        if unit is not None and unit not in UNITS:
            return None
        value = Decimal(match.group("value")) if match.group("value") else None
        out.append(_Component(_plain_ingredient(match.group("name")), value, unit))
    if len(out) > 1 and any(c.value is None for c in out):
        return None
    return out


def _plain_ingredient(name: str) -> str:
    """Lower-case (undoing tall-man letters like "oxyCODONE") and drop a trailing salt word."""
    words = [w if len(w) == 1 or not w.isalpha() else w.lower() for w in name.split()]
    while len(words) > 1 and words[-1].lower() in SALTS and not all(w.lower() in _MINERALS for w in words[:-1]):
        words.pop()
    return " ".join(words)


def _compose(components: list[_Component], form: str | None, brand: str | None) -> tuple[str | None, bool]:
    """Assemble the friendly text; returns (None, False) when a strength cannot be worded."""
    strengths: list[str] = []
    per: set[str] = set()
    for component in components:
        if component.value is None:
            continue
        worded = _strength(component.value, component.unit or "", form)
        if worded is None:
            return None, False
        amount, per_what = worded
        strengths.append(amount)
        per.add(per_what)
    if len(per) > 1:
        return None, False
    per_phrase = next(iter(per), "")
    ingredients = " / ".join(c.name for c in components)
    if any(ch in ingredients for ch in ",()"):
        return None, False  # e.g. "Estrogens, Conjugated (USP)" or a billing text: keep the original
    # Three or more ingredients (cough mixtures) make a long line; the original is shown as well.
    sure = len(components) <= 2
    strength = " / ".join(strengths)
    if brand:
        head = f"{brand} ({ingredients})" if brand.lower() != ingredients.lower() else brand
    else:
        head = ingredients[:1].upper() + ingredients[1:]
    if per_phrase and form:
        parts = [head, form, f"({strength} {per_phrase})"]
    elif per_phrase:
        parts = [head, f"{strength} {per_phrase}"]
    else:
        parts = [head, strength, form or ""]
    return " ".join(p for p in parts if p), sure


def _strength(value: Decimal, unit: str, form: str | None) -> tuple[str, str] | None:
    """A strength in plain words and its "per ..." phrase (empty for a plain amount)."""
    plain = UNITS[unit]
    if unit == "MG/MG":
        return f"{_number(value * 100)}%", ""
    if plain.startswith("per "):
        per = plain
        if plain == "per actuation":
            per = "per " + ACTUATION_WORDS.get(form or "", "dose")
        if unit.startswith("MCG"):
            return f"{_number(value)} micrograms", per
        # Inhalers, nasal sprays and patches are labelled in micrograms per puff, spray or hour.
        labelled_in_micrograms = unit == "MG/HR" or form in _MICROGRAM_FORMS
        return _mass(value, below=Decimal(1) if labelled_in_micrograms else _MICROGRAMS_BELOW), per
    if unit == "MG":
        return _mass(value), ""
    if plain == "%":
        return f"{_number(value)}%", ""
    return f"{_number(value)} {plain}", ""


def _mass(milligrams: Decimal, below: Decimal = _MICROGRAMS_BELOW) -> str:
    """Milligrams in words; amounts under ``below`` mg read as micrograms, as the packs print them."""
    if milligrams < below:
        return f"{_number(milligrams * 1000)} micrograms"
    return f"{_number(milligrams)} mg"


def _number(value: Decimal) -> str:
    """A decimal without trailing zeros or exponent, with thousands separated by commas."""
    try:
        normal = value.normalize()
    except InvalidOperation:  # pragma: no cover - Decimal from a digit pattern always normalizes
        return str(value)
    text = format(normal, "f")
    whole, _, fraction = text.partition(".")
    whole = f"{int(whole):,}"
    return f"{whole}.{fraction}" if fraction else whole


def brand_of(original: str) -> str | None:
    """The brand an RxNorm branded name (SBD/BPCK) ends with in brackets ("... [Advil]" -> "Advil"), else None."""
    match = _BRAND.search(" ".join(original.split()))
    return match.group(1).strip() if match else None


_LEADING_WORDS = re.compile(r"^[A-Za-z][A-Za-z0-9 '-]*?(?=\s+\d|$)")


def ingredients(original: str) -> tuple[str, ...]:
    """The plain ingredient names of a medicine name, lower case, and its [Brand] if any.

    Reads RxNorm display strings the way friendly_name does ("ibuprofen 200 MG Oral Tablet" ->
    ("ibuprofen",)); a name typed by a person ("Ibuprofen 400mg") gives its leading words. Never
    invents one: () when nothing reads as a name.
    """
    name = " ".join(original.split())
    brand_match = _BRAND.search(name)
    body = name[: brand_match.start()] if brand_match else name
    body = _APPLICATION_PREFIX.sub("", body)
    while _QUANTITY_PREFIX.match(body):
        body = _QUANTITY_PREFIX.sub("", body, count=1)
    _, rest = _split_form(body)
    components = _components(rest)
    found = [c.name.lower() for c in components] if components else []
    if not found:
        leading = _LEADING_WORDS.match(body)
        found = [_plain_ingredient(leading.group(0).strip()).lower()] if leading and leading.group(0).strip() else []
    if brand_match:
        found.append(brand_match.group(1).strip().lower())
    return tuple(dict.fromkeys(f for f in found if f))
