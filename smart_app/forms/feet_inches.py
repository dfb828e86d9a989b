"""Height in feet and inches, converted on the server to the form's own unit. Pure.

A body-height question whose unit is a length (questionnaire-unit or unitOption: cm, m, mm, in)
also offers "feet and inches": two number fields, `f.<linkId>.<path>` (feet) and
`i.<linkId>.<path>` (inches), chosen with the unit select (`u.`, token FEET_AND_INCHES). They are
kept as typed (the raw value `{"feet", "inches", "unit": "ft-in"}`, so the page shows them again)
and the answer is the height in the form's unit, e.g. 5 ft 10 in -> 177.8 cm: the
QuestionnaireResponse and the Observation carry that value with the form's UCUM unit.

Conversion by UCUM's definitions (https://ucum.org/ucum, "customary units": [in_i] = 2.54 cm,
[ft_i] = 12 [in_i]). Feet are whole; inches are fewer than 12 and may have decimals; a blank
field counts as 0 when the other is filled. The form's min/max bounds are checked on the value
that will be written and said back in feet and inches ("between 1 ft and 8 ft 11 in").
"""
from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any, Mapping

from smart_app.text import Text

from .answers import DECIMAL_RE, Answer, AnswerError
from .model import Form, FormItem
from .validation import convert

FEET_AND_INCHES = "ft-in"  # the unit select's token for this way of entering a height
INCHES_PER_FOOT = Decimal(12)
LENGTH_UNITS = frozenset({"cm", "m", "mm", "[in_i]"})
# LOINC body height codes: 8302-2 Body height, 8306-3 Body height --lying, 8308-9 Body height --standing.
HEIGHT_CODES = frozenset({("http://loinc.org", "8302-2"), ("http://loinc.org", "8306-3"), ("http://loinc.org", "8308-9")})
_PLACES = {"m": 3}  # decimal places kept when the form does not say (maxDecimalPlaces); 1 otherwise

Key = tuple[str, tuple[int, ...]]


def _unit(item: FormItem) -> dict[str, Any] | None:
    """The unit the form's answer and bounds are in: the fixed questionnaire-unit, else the first unitOption."""
    return item.unit or (item.unit_options[0] if item.unit_options else None)


def offers_feet_and_inches(item: FormItem) -> bool:
    """A height question measured in a length unit: it can be answered in feet and inches."""
    if item.type not in ("decimal", "integer", "quantity") or item.read_only:
        return False
    unit = _unit(item)
    if not unit or unit.get("code") not in LENGTH_UNITS:
        return False
    if any((c.get("system"), c.get("code")) in HEIGHT_CODES for c in item.code):
        return True
    return "height" in f"{item.link_id} {item.text or ''}".casefold()


def is_feet_and_inches(raw: Any) -> bool:
    """True for a raw value typed as feet and inches."""
    return isinstance(raw, dict) and raw.get("unit") == FEET_AND_INCHES


def _filled(value: Any) -> str:
    """A field's text, trimmed ("" when absent)."""
    return str(value or "").strip()


def _field(data: Mapping[str, Any], name: str) -> str:
    """The first posted value of a field (a MultiDict, a dict of lists or a plain dict), trimmed."""
    from .state import _getlist

    values = _getlist(data, name)
    return _filled(values[0]) if values else ""


def posted(form: Form, data: Mapping[str, Any], scope: frozenset[str] | None = None) -> dict[Key, dict[str, str]]:
    """The heights posted as feet and inches, by item instance: where the unit chosen is feet and
    inches, or where only the feet and inches were filled in (nothing typed is dropped)."""
    from .state import parse_field_name

    out: dict[Key, dict[str, str]] = {}
    for name in list(data.keys()):
        parsed = parse_field_name(str(name))
        if parsed is None or parsed[0] != "f":
            continue
        _kind, link_id, path = parsed
        item = form.by_link_id.get(link_id)
        if item is None or not offers_feet_and_inches(item) or (scope is not None and link_id not in scope):
            continue
        suffix = str(name)[1:]
        feet, inches = _field(data, str(name)), _field(data, "i" + suffix)
        chosen = _field(data, "u" + suffix) == FEET_AND_INCHES
        typed_elsewhere = _field(data, "q" + suffix)
        if (feet or inches) and (chosen or not typed_elsewhere):
            out[(link_id, path)] = {"feet": feet, "inches": inches, "unit": FEET_AND_INCHES}
    return out


def _number(text: str) -> Decimal:
    """A non-negative number as typed, or the plain message for the pair."""
    if not DECIMAL_RE.fullmatch(text) or text.startswith("-"):
        raise AnswerError(Text("Enter your height in numbers, for example 5 ft 7 in."))
    return Decimal(text)


def total_inches(feet_text: str, inches_text: str) -> Decimal:
    """Feet and inches as typed -> inches; AnswerError with a plain message when they do not make a height."""
    feet = _number(feet_text) if feet_text else Decimal(0)
    inches = _number(inches_text) if inches_text else Decimal(0)
    if feet != feet.to_integral_value():
        raise AnswerError(Text("Enter whole feet, for example 5, and the rest in inches."))
    if inches >= INCHES_PER_FOOT:
        raise AnswerError(Text("Enter fewer than 12 inches, for example 7."))
    return feet * INCHES_PER_FOOT + inches


def feet_and_inches_text(inches: Decimal) -> Text:
    """A whole number of inches as people say a height: "5 ft", "5 ft 7 in"."""
    whole = int(inches)
    feet, rest = divmod(whole, 12)
    if feet == 1:  # "1 pie" but "5 pies": a language may word one foot apart
        return Text("1 ft") if rest == 0 else Text("1 ft %(inches)s in", inches=rest)
    if rest == 0:
        return Text("%(feet)s ft", feet=feet)
    return Text("%(feet)s ft %(inches)s in", feet=feet, inches=rest)


def _bound(item: FormItem, which: str) -> Decimal | None:
    """The form's min or max as a number in its unit, or None."""
    bound = item.min_value if which == "min" else item.max_value
    if bound is None:
        return None
    raw = bound[1].get("value") if isinstance(bound[1], dict) else bound[1]
    try:
        return Decimal(str(raw))
    except ArithmeticError:
        return None


def range_message(item: FormItem, code: str) -> Text | None:
    """The form's bounds said in feet and inches, rounded inwards to whole inches so every height
    the message allows is accepted; None when the form gives no bounds."""
    low, high = _bound(item, "min"), _bound(item, "max")
    low_in = convert(low, code, "[in_i]") if low is not None else None
    high_in = convert(high, code, "[in_i]") if high is not None else None
    if low_in is not None and high_in is not None:
        return Text("Enter a height between %(low)s and %(high)s.",
                    low=feet_and_inches_text(low_in.to_integral_value(ROUND_CEILING)),
                    high=feet_and_inches_text(high_in.to_integral_value(ROUND_FLOOR)))
    if low_in is not None:
        return Text("Enter a height of at least %(low)s.", low=feet_and_inches_text(low_in.to_integral_value(ROUND_CEILING)))
    if high_in is not None:
        return Text("Enter a height of at most %(high)s.", high=feet_and_inches_text(high_in.to_integral_value(ROUND_FLOOR)))
    return None


def answer(item: FormItem, raw: Mapping[str, Any]) -> Answer | None:
    """The answer in the form's unit for a height typed in feet and inches; None when both are blank.

    Raises AnswerError (a plain message) when the fields do not make a height or it is outside
    the form's bounds. The value is rounded to the form's decimal places (maxDecimalPlaces).
    """
    feet_text, inches_text = _filled(raw.get("feet")), _filled(raw.get("inches"))
    if not feet_text and not inches_text:
        return None
    unit = _unit(item) or {}
    code = str(unit.get("code") or "")
    inches = total_inches(feet_text, inches_text)
    value = convert(inches, "[in_i]", code)
    if value is None:  # pragma: no cover - offers_feet_and_inches allows only convertible units
        raise AnswerError(Text("Enter your height in numbers, for example 5 ft 7 in."))
    places = 0 if item.type == "integer" else (item.max_decimal_places if item.max_decimal_places is not None
                                               else _PLACES.get(code, 1))
    value = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    low, high = _bound(item, "min"), _bound(item, "max")
    if (low is not None and value < low) or (high is not None and value > high):
        raise AnswerError(range_message(item, code))
    if item.type == "integer":
        return "Integer", int(value)
    if item.type == "decimal":
        return "Decimal", value
    quantity: dict[str, Any] = {"value": value, "unit": unit.get("display") or code}
    if unit.get("system"):
        quantity["system"] = unit["system"]
    if code:
        quantity["code"] = code
    return "Quantity", quantity
