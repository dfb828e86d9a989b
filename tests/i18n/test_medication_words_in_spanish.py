"""Medicine names and dosage wording are said in the reader's language: the dose form, the units
and the sentence around them are translated, while ingredient and brand names stay as the record
writes them. Checked over the friendly-name and dosage test tables, in English and in Spanish."""
from __future__ import annotations

import re

import pytest
from flask import Flask

from smart_app import i18n
from smart_app.medications import describe_dosage
from smart_app.medications.names import DOSE_FORMS, friendly_name, ingredients
from tests.medications.test_dosage_wording import CASES
from tests.medications.test_friendly_names import EXPECTED


@pytest.fixture(scope="module")
def app() -> Flask:
    """A bare app with the app's language machinery (Flask-Babel, the catalogs, say()): enough to say texts."""
    bare = Flask("smart_app")  # its root holds translations/
    i18n.install(bare)
    return bare


def _say(app: Flask, text: str, language: str) -> str:
    """`text` as a page in `language` says it."""
    with app.test_request_context("/", headers={"Accept-Language": language}):
        return i18n.say(text)


@pytest.mark.parametrize(("original", "english", "spanish"), [
    ("metformin hydrochloride 500 MG Oral Tablet", "Metformin 500 mg tablet", "Metformin 500 mg, tableta"),
    ("120 ACTUAT fluticasone propionate 0.044 MG/ACTUAT Metered Dose Inhaler",
     "Fluticasone inhaler (44 micrograms per puff)", "Fluticasone, inhalador (44 microgramos por inhalación)"),
    ("Nizatidine 15 MG/ML Oral Solution [Axid]", "Axid (nizatidine) 15 mg/mL liquid", "Axid (nizatidine) 15 mg/mL, líquido"),
    ("Nystatin 100000 UNT/ML Oral Suspension", "Nystatin 100,000 units/mL liquid", "Nystatin 100.000 unidades/mL, líquido"),
    ("120 ACTUAT Triamcinolone 0.055 MG/ACTUAT Nasal Inhaler [Nasacort]",
     "Nasacort (triamcinolone) nasal spray (55 micrograms per spray)",
     "Nasacort (triamcinolone), espray nasal (55 microgramos por pulverización)"),
])
def test_a_friendly_name_is_said_in_the_readers_language_keeping_the_ingredient(app: Flask, original, english, spanish) -> None:
    text = friendly_name(original).text
    assert text == english  # the core's str stays the English
    assert _say(app, text, "en") == english
    assert _say(app, text, "es") == spanish


@pytest.mark.parametrize(("original", "english"), EXPECTED, ids=[e[0][:40] for e in EXPECTED])
def test_every_name_in_the_table_gets_its_dose_form_in_spanish_and_keeps_its_ingredients(app: Flask, original, english) -> None:
    text = friendly_name(original).text
    assert _say(app, text, "en") == english
    spanish = _say(app, text, "es")
    forms = [form for form in set(DOSE_FORMS.values()) if re.search(rf"\b{re.escape(form)}\b", english)]
    longest = max(forms, key=len) if forms else None
    if longest is not None:
        said = _say(app, longest, "es")
        assert said in spanish, (spanish, longest)
        if said != longest:  # "gel" is "gel" in Spanish too
            assert not re.search(rf"\b{re.escape(longest)}\b", spanish), spanish
    # Ingredient and brand names are never translated.
    for name in ingredients(original):
        assert name in spanish.lower(), (name, spanish)
    for english_word in ("micrograms", "per puff", "per spray", "units"):
        assert english_word not in spanish


DOSAGE_PAIRS = {
    "tablet twice a day": "1 tableta por vía oral dos veces al día",
    "mL at bedtime": "10 mL por vía oral al acostarse",
    "every 4 to 6 hours prn": "2 inhalaciones por vía inhalatoria cada 4 a 6 horas según sea necesario para wheezing",
    "once a week on Monday": "70 mg una vez a la semana los lunes",
    "times of day": "dos veces al día a las 8:00 y 20:30",
    "dose range of tablets": "de 1 a 2 tabletas",
    "half tablet": "0,5 tabletas",
    "three times with meals": "3 veces al día con las comidas",
    "twice every 3 days": "dos veces cada 3 días",
}


@pytest.mark.parametrize(("name", "dosage", "english"), CASES, ids=[c[0] for c in CASES])
def test_the_dosage_table_reads_in_english_and_in_spanish(app: Flask, name, dosage, english) -> None:
    sentence = describe_dosage(dosage)
    assert _say(app, sentence, "en") == english
    spanish = _say(app, sentence, "es")
    if name in DOSAGE_PAIRS:
        assert spanish == DOSAGE_PAIRS[name]
    if "text" in dosage or name.startswith(("route text", "route display", "timing code text")):
        return  # the prescriber's or the record's own words, as written
    for english_word in ("by mouth", "times", "a day", "every", "as needed", "tablet", "at bedtime", "twice", "once"):
        assert not re.search(rf"\b{english_word}\b", spanish), (english_word, spanish)
