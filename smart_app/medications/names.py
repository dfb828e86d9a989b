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

The words it adds (the dose form, "micrograms", "per puff") are catalog messages: the friendly
text is a `Text` whose str is the English and which a page says in the reader's language
(`say(row.friendly.text)`); ingredient and brand names stay as the record writes them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from smart_app.text import N_, Joined, Text

# RxNorm dose forms (https://www.nlm.nih.gov/research/umls/rxnorm/docs/appendix2.html) -> plain
# words. Older names seen in real records ("Enteric Coated Tablet", "Inhalant Solution") included.
DOSE_FORMS: dict[str, str] = {
    "Oral Tablet": N_("tablet"),
    "Tablet": N_("tablet"),
    "Chewable Tablet": N_("chewable tablet"),
    "Disintegrating Oral Tablet": N_("tablet that dissolves in the mouth"),
    "Sublingual Tablet": N_("tablet to dissolve under the tongue"),
    "Extended Release Oral Tablet": N_("extended-release tablet"),
    "Extended Release Tablet": N_("extended-release tablet"),
    "Delayed Release Oral Tablet": N_("delayed-release tablet"),
    "Enteric Coated Tablet": N_("delayed-release tablet"),
    "Oral Capsule": N_("capsule"),
    "Capsule": N_("capsule"),
    "Extended Release Oral Capsule": N_("extended-release capsule"),
    "Extended Release Capsule": N_("extended-release capsule"),
    "Delayed Release Oral Capsule": N_("delayed-release capsule"),
    "Enteric Coated Capsule": N_("delayed-release capsule"),
    "Oral Solution": N_("liquid"),
    "Oral Suspension": N_("liquid"),
    "Extended Release Suspension": N_("extended-release liquid"),
    "Extended Release Oral Suspension": N_("extended-release liquid"),
    "Oral Powder": N_("powder"),
    "Mouthwash": N_("mouthwash"),
    "Metered Dose Inhaler": N_("inhaler"),
    "Dry Powder Inhaler": N_("inhaler"),
    "Inhalation Powder": N_("inhaler capsule"),
    "Inhalant Powder": N_("inhaler capsule"),
    "Inhalation Solution": N_("nebuliser solution"),
    "Inhalant Solution": N_("nebuliser solution"),
    "Inhalation Suspension": N_("nebuliser solution"),
    "Nasal Spray": N_("nasal spray"),
    "Metered Dose Nasal Spray": N_("nasal spray"),
    "Nasal Inhaler": N_("nasal spray"),
    "Mucosal Spray": N_("spray"),
    "Injectable Solution": N_("injection"),
    "Injectable Suspension": N_("injection"),
    "Injection": N_("injection"),
    "Pen Injector": N_("injection pen"),
    "Auto-Injector": N_("auto-injector"),
    "Prefilled Syringe": N_("prefilled syringe"),
    "Topical Cream": N_("cream"),
    "Topical Ointment": N_("ointment"),
    "Topical Gel": N_("gel"),
    "Topical Lotion": N_("lotion"),
    "Topical Solution": N_("solution for the skin"),
    "Rectal Cream": N_("rectal cream"),
    "Rectal Suppository": N_("suppository"),
    "Vaginal Cream": N_("vaginal cream"),
    "Vaginal Ring": N_("vaginal ring"),
    "Ophthalmic Solution": N_("eye drops"),
    "Ophthalmic Suspension": N_("eye drops"),
    "Ophthalmic Ointment": N_("eye ointment"),
    "Otic Solution": N_("ear drops"),
    "Otic Suspension": N_("ear drops"),
    "Transdermal System": N_("patch"),
    "Drug Implant": N_("implant"),
    "Intrauterine System": N_("intrauterine device"),
}

# RxNorm strength units -> plain units. A unit "per actuation" is worded by the dose form.
UNITS: dict[str, str] = {
    "MG": "mg",
    "MCG": N_("micrograms"),
    "UNT": N_("units"),
    "MEQ": "mEq",
    "ML": "mL",
    "MG/ML": "mg/mL",
    "MCG/ML": N_("micrograms/mL"),
    "UNT/ML": N_("units/mL"),
    "MEQ/ML": "mEq/mL",
    "MG/HR": N_("per hour"),
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

# "per <actuation>" as said ("per puff"), by ACTUATION_WORDS' words and "dose".
_PER_ACTUATION: dict[str, str] = {"puff": N_("per puff"), "spray": N_("per spray"), "dose": N_("per dose")}

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

    text: str  # a Text (or Joined) when worded: say it in the reader's language
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
        return FriendlyName(Text("%(brand)s pack", brand=brand), original, False)
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
    strengths: list[Text] = []
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
    strength = Joined(strengths, " / ") if strengths else ""
    if brand:
        head = f"{brand} ({ingredients})" if brand.lower() != ingredients.lower() else brand
    else:
        head = ingredients[:1].upper() + ingredients[1:]
    said_form = Text(form) if form else ""
    said_per = Text(per_phrase) if per_phrase else ""
    if said_per and said_form:
        return Text("%(name)s %(form)s (%(strength)s %(per)s)", name=head, form=said_form, strength=strength,
                    per=said_per), sure
    if said_per:
        return Text("%(name)s %(strength)s %(per)s", name=head, strength=strength, per=said_per), sure
    if strength and said_form:
        return Text("%(name)s %(strength)s %(form)s", name=head, strength=strength, form=said_form), sure
    if strength:
        return Text("%(name)s %(strength)s", name=head, strength=strength), sure
    if said_form:
        return Text("%(name)s %(form)s", name=head, form=said_form), sure
    return head, sure


def _strength(value: Decimal, unit: str, form: str | None) -> tuple[Text, str] | None:
    """A strength in plain words and its "per ..." phrase (empty for a plain amount)."""
    plain = UNITS[unit]
    if unit == "MG/MG":
        return _percent(value * 100), ""
    if plain.startswith("per "):
        per = plain
        if plain == "per actuation":
            per = _PER_ACTUATION[ACTUATION_WORDS.get(form or "", "dose")]
        if unit.startswith("MCG"):
            return _amount(value, "micrograms"), per
        # Inhalers, nasal sprays and patches are labelled in micrograms per puff, spray or hour.
        labelled_in_micrograms = unit == "MG/HR" or form in _MICROGRAM_FORMS
        return _mass(value, below=Decimal(1) if labelled_in_micrograms else _MICROGRAMS_BELOW), per
    if unit == "MG":
        return _mass(value), ""
    if plain == "%":
        return _percent(value), ""
    return _amount(value, plain), ""


def _amount(value: Decimal, unit: str) -> Text:
    """ "500 mg", "44 micrograms": the number in the reader's locale, a unit word in the reader's language."""
    return Text("%(amount)s %(unit)s", amount=_number(value), unit=Text(unit))


def _percent(value: Decimal) -> Text:
    """ "2%" (written as the reader's language writes a percentage)."""
    return Text("%(amount)s%%", amount=_number(value))


def _mass(milligrams: Decimal, below: Decimal = _MICROGRAMS_BELOW) -> Text:
    """Milligrams in words; amounts under ``below`` mg read as micrograms, as the packs print them."""
    if milligrams < below:
        return _amount(milligrams * 1000, "micrograms")
    return _amount(milligrams, "mg")


def _number(value: Decimal) -> Decimal:
    """A decimal without trailing zeros or exponent (English writes it "1,000"; a page in the reader's locale)."""
    try:
        normal = value.normalize()
    except InvalidOperation:  # pragma: no cover - Decimal from a digit pattern always normalizes
        return value
    return Decimal(format(normal, "f"))


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
