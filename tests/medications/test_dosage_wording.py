"""describe_dosage turns FHIR Dosage structures into plain, code-free wording."""
import pytest

from smart_app.medications import describe_dosage, describe_dosages
from tests.medications.builders import ORAL, SNOMED, load


def qty(value, unit=None, code=None):
    """A Quantity with optional unit text and code."""
    q = {"value": value}
    if unit:
        q["unit"] = unit
    if code:
        q["code"] = code
        q["system"] = "http://unitsofmeasure.org"
    return q


def repeat(**kw):
    """A Timing with only repeat."""
    return {"repeat": kw}


CASES = [
    # id, dosage, expected
    ("text wins", {"text": "Take one at night", "timing": repeat(frequency=2, period=1, periodUnit="d")}, "Take one at night"),
    ("text trimmed", {"text": "  10 mL bid  "}, "10 mL bid"),
    ("blank text falls back", {"text": "  ", "asNeededBoolean": True}, "as needed"),
    ("tablet twice a day", {"doseAndRate": [{"doseQuantity": qty(1, "tablet")}], "route": ORAL,
                            "timing": repeat(frequency=2, period=1, periodUnit="d")}, "1 tablet by mouth twice a day"),
    ("mL at bedtime", {"doseAndRate": [{"doseQuantity": qty(10, "mL", "mL")}], "route": ORAL,
                       "timing": repeat(when=["HS"])}, "10 mL by mouth at bedtime"),
    ("once daily at bedtime is not said twice", {"doseAndRate": [{"doseQuantity": qty(10.0, code="mL")}],
                       "timing": repeat(frequency=1, period=1, periodUnit="d", when=["HS"])}, "10 mL at bedtime"),
    ("as needed for pain", {"asNeededCodeableConcept": {"coding": [{"system": SNOMED, "code": "22253000", "display": "Pain"}]}},
     "as needed for pain"),
    ("as needed text keeps acronyms", {"asNeededCodeableConcept": {"text": "GERD Symptoms"}}, "as needed for GERD symptoms"),
    ("as needed boolean false says nothing", {"asNeededBoolean": False, "timing": repeat(frequency=1, period=1, periodUnit="d")}, "once a day"),
    ("three times a day", {"timing": repeat(frequency=3, period=1, periodUnit="d")}, "3 times a day"),
    ("every 8 hours", {"timing": repeat(frequency=1, period=8, periodUnit="h")}, "every 8 hours"),
    ("every hour", {"timing": repeat(frequency=1, period=1, periodUnit="h")}, "every hour"),
    ("every 4 to 6 hours prn", {"doseAndRate": [{"doseQuantity": qty(2, code="{puff}")}],
                                "route": {"coding": [{"system": SNOMED, "code": "447694001"}]},
                                "timing": repeat(frequency=1, period=4, periodMax=6, periodUnit="h"),
                                "asNeededCodeableConcept": {"text": "Wheezing"}},
     "2 puffs inhaled every 4 to 6 hours as needed for wheezing"),
    ("once a week on Monday", {"doseAndRate": [{"doseQuantity": qty(70, "mg", "mg")}],
                               "timing": repeat(frequency=1, period=1, periodUnit="wk", dayOfWeek=["mon"])},
     "70 mg once a week on Monday"),
    ("every 2 days", {"timing": repeat(frequency=1, period=2, periodUnit="d")}, "every 2 days"),
    ("twice every 3 days", {"timing": repeat(frequency=2, period=3, periodUnit="d")}, "twice every 3 days"),
    ("1 to 2 times a day", {"timing": repeat(frequency=1, frequencyMax=2, period=1, periodUnit="d")}, "1 to 2 times a day"),
    ("times of day", {"timing": repeat(frequency=2, period=1, periodUnit="d", timeOfDay=["08:00:00", "20:30:00"])},
     "twice a day at 08:00 and 20:30"),  # the app's one time format (smart_app.i18n)
    ("three times with meals", {"timing": repeat(frequency=3, period=1, periodUnit="d", when=["C"])}, "3 times a day with meals"),
    ("before breakfast and dinner", {"timing": repeat(when=["ACM", "ACV"])}, "before breakfast and before dinner"),
    ("timing code BID", {"doseAndRate": [{"doseQuantity": qty(500, "mg", "mg")}], "route": ORAL,
                         "timing": {"code": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation", "code": "BID"}]}}},
     "500 mg by mouth twice a day"),
    ("timing code text", {"timing": {"code": {"text": "Every Morning"}}}, "every morning"),
    ("unknown timing code is not shown raw", {"timing": {"code": {"coding": [{"code": "XYZ9"}]}}}, ""),
    ("dose range of tablets", {"doseAndRate": [{"doseRange": {"low": qty(1, "TAB"), "high": qty(2, "TAB")}}]}, "1 to 2 tablets"),
    ("half tablet", {"doseAndRate": [{"doseQuantity": qty(0.5, code="{tbl}")}]}, "0.5 tablets"),
    ("capsule plural", {"doseAndRate": [{"doseQuantity": qty(2, "capsule")}]}, "2 capsules"),
    ("unknown annotation unit loses its braces", {"doseAndRate": [{"doseQuantity": qty(1, code="{sachet}")}]}, "1 sachet"),
    ("route text", {"route": {"text": "Apply To Skin"}}, "apply to skin"),
    ("route display without the word route", {"route": {"coding": [{"system": "urn:local", "code": "x", "display": "Buccal route"}]}}, "buccal"),
    ("route code without words is left out", {"route": {"coding": [{"system": "urn:local", "code": "x"}]}, "asNeededBoolean": True}, "as needed"),
    ("v3 PO route", {"route": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration", "code": "PO"}]}}, "by mouth"),
    ("empty dosage", {}, ""),
]


@pytest.mark.parametrize(("dosage", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_dosage_wording(dosage, expected):
    assert describe_dosage(dosage) == expected


def test_r4_statement_example_structured_dosage_without_text():
    """The R4 example001 dosage, read from its structure alone, says the same as its text."""
    dosage = dict(load("r4-medicationstatement-example001.json")["dosage"][0])
    assert describe_dosage(dosage) == "1-2 tablets once daily at bedtime as needed for restless legs"
    dosage.pop("text")
    assert describe_dosage(dosage) == "1 to 2 tablets by mouth once a day as needed for restless legs"


def test_several_dosage_lines_join_in_sequence_without_repeats():
    lines = [
        {"sequence": 2, "text": "then 1 tablet daily"},
        {"sequence": 1, "text": "2 tablets daily for 3 days"},
        {"sequence": 3, "text": "then 1 tablet daily"},
        {"sequence": 4},
    ]
    assert describe_dosages(lines) == "2 tablets daily for 3 days; then 1 tablet daily"


@pytest.mark.parametrize(
    "dosage",
    [
        None,
        "twice a day",
        {"text": 5},
        {"timing": ["BID"], "route": "oral", "doseAndRate": {"doseQuantity": 1}},
        {"timing": {"repeat": "daily", "code": {"coding": ["BID"]}}},
        {"doseAndRate": ["x", {"doseQuantity": "1 tab"}, {"doseRange": {"low": 1}}]},
        {"route": {"coding": [{"system": None, "code": "PO"}, "x"]}},
        {"asNeededCodeableConcept": {"coding": [None, {"display": 7}]}},
        {"timing": {"repeat": {"when": [None, 3], "timeOfDay": [8], "dayOfWeek": [{}]}}},
    ],
    ids=["none", "string", "text not a string", "lists for objects", "repeat a string", "bad doses", "bad route codings",
         "bad as-needed codings", "bad repeat lists"],
)
def test_malformed_dosage_json_gives_no_crash_and_no_raw_values(dosage):
    wording = describe_dosage(dosage)
    assert wording in ("", "as needed")
