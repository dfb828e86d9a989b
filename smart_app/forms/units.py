"""Units as a person reads them: "lb", "ft", "mmHg", "years", never a UCUM code like `[lb_av]`.

Pure. FHIR Quantities and questionnaire-unit Codings carry UCUM codes
(https://ucum.org/ucum, "The Unified Code for Units of Measure"); a code in square or curly
brackets is a machine name, not a word. Words that differ by language are `Text`s, said in the
reader's language where they are shown.
"""
from __future__ import annotations

from typing import Any, Mapping

from smart_app.text import Text

UCUM = "http://unitsofmeasure.org"

# UCUM codes -> the symbol or word people use. Symbols (kg, lb, mmHg) read the same in English and Spanish.
_WORDS: dict[str, str] = {
    "[lb_av]": "lb", "[oz_av]": "oz", "[stone_av]": "st", "[in_i]": "in", "[ft_i]": "ft",
    "mm[Hg]": "mmHg", "Cel": "°C", "[degF]": "°F", "kg/m2": "kg/m²", "ug": "mcg",
}
_SAID: dict[str, Text] = {
    "/min": Text("per minute"), "{beats}/min": Text("beats per minute"), "{breaths}/min": Text("breaths per minute"),
    "a": Text("years"), "mo": Text("months"), "wk": Text("weeks"), "d": Text("days"), "h": Text("hours"),
    "min": Text("minutes"),
}


def is_machine_code(text: str) -> bool:
    """True for a UCUM code no person would write ("[lb_av]", "{score}", "mm[Hg]")."""
    return any(ch in text for ch in "[]{}")


def unit_words(unit: Mapping[str, Any] | None) -> str:
    """A unit (a Coding, or a Quantity with `unit`/`code`) as words a person knows; "" when it has none.

    A known UCUM code wins over the given display (a display that is itself a code is common);
    then the display or the Quantity's `unit`; then the code when it reads as a symbol ("mg/dL").
    """
    if not unit:
        return ""
    code = str(unit.get("code") or "")
    if code in _SAID:
        return _SAID[code]
    if code in _WORDS:
        return _WORDS[code]
    for written in (unit.get("display"), unit.get("unit")):
        if isinstance(written, str) and written.strip() and not is_machine_code(written):
            return written.strip()
    return code if code and not is_machine_code(code) else ""


__all__ = ["UCUM", "is_machine_code", "unit_words"]
