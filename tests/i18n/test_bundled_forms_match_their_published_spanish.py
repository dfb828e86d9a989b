"""The bundled PHQ-9's Spanish is the published "Spanish for the USA" PHQ-9 (Pfizer, PHQ Screeners)
word for word, as checked against a public transcription of that form (es.studenta.com/content/
129686767, "PatientHealthQuestionnaire9_Spanish"; the form's description says so). The GAD-7's is
pinned to the wording that several independent public copies of the U.S. Spanish GAD-7 agree on
(the official form itself was not available to check; its description says so). A change to either
must be a deliberate one, made here too."""
from __future__ import annotations

from smart_app.forms import build_form
from smart_app.forms.translation import localize
from tests.i18n.test_questionnaire_translation import shared_find_by_id

PHQ9 = {
    "phq9": "Durante las últimas 2 semanas, ¿qué tan seguido ha tenido molestias debido a los siguientes problemas?",
    "phq9-q1": "Poco interés o placer en hacer cosas",
    "phq9-q2": "Se ha sentido decaído(a), deprimido(a) o sin esperanzas",
    "phq9-q3": "Ha tenido dificultad para quedarse o permanecer dormido(a), o ha dormido demasiado",
    "phq9-q4": "Se ha sentido cansado(a) o con poca energía",
    "phq9-q5": "Sin apetito o ha comido en exceso",
    "phq9-q6": "Se ha sentido mal con usted mismo(a) – o que es un fracaso o que ha quedado mal con usted mismo(a) o con su familia",
    "phq9-q7": "Ha tenido dificultad para concentrarse en ciertas actividades, tales como leer el periódico o ver la televisión",
    "phq9-q8": "¿Se ha movido o hablado tan lento que otras personas podrían haberlo notado? o lo contrario – muy inquieto(a) "
               "o agitado(a) que ha estado moviéndose mucho más de lo normal",
    "phq9-q9": "Pensamientos de que estaría mejor muerto(a) o de lastimarse de alguna manera",
    "phq9-difficulty": "Si marcó cualquiera de los problemas, ¿qué tanta dificultad le han dado estos problemas para hacer su "
                       "trabajo, encargarse de las tareas del hogar, o llevarse bien con otras personas?",
}
PHQ9_ANSWERS = ["Ningún día", "Varios días", "Más de la mitad de los días", "Casi todos los días"]
DIFFICULTY = ["No ha sido difícil", "Un poco difícil", "Muy difícil", "Extremadamente difícil"]

GAD7 = {
    "gad7": "Durante las últimas 2 semanas, ¿con qué frecuencia le han molestado los siguientes problemas?",
    "gad7-q1": "Se ha sentido nervioso(a), ansioso(a) o con los nervios de punta",
    "gad7-q2": "No ha sido capaz de parar o controlar su preocupación",
    "gad7-q3": "Se ha preocupado demasiado por motivos diferentes",
    "gad7-q4": "Ha tenido dificultad para relajarse",
    "gad7-q5": "Se ha sentido tan inquieto(a) que no ha podido quedarse quieto(a)",
    "gad7-q6": "Se ha molestado o irritado fácilmente",
    "gad7-q7": "Ha tenido miedo de que algo terrible fuera a pasar",
    "gad7-difficulty": PHQ9["phq9-difficulty"],
}


def _spanish(form_id: str):
    """The bundled form as built for a Spanish page."""
    return build_form(localize(shared_find_by_id(form_id), "es"))


def test_the_phq9_reads_as_the_published_spanish_for_the_usa() -> None:
    form = _spanish("phq-9")
    assert {link_id: form.by_link_id[link_id].text for link_id in PHQ9} == PHQ9
    for i in range(1, 10):
        assert [o.label for o in form.by_link_id[f"phq9-q{i}"].options] == PHQ9_ANSWERS
    assert [o.label for o in form.by_link_id["phq9-difficulty"].options] == DIFFICULTY


def test_the_gad7_keeps_the_us_spanish_wording_it_was_checked_against() -> None:
    form = _spanish("gad-7")
    assert {link_id: form.by_link_id[link_id].text for link_id in GAD7} == GAD7
    assert [o.label for o in form.by_link_id["gad7-difficulty"].options] == DIFFICULTY


def test_the_forms_name_the_source_of_their_spanish() -> None:
    assert "studenta.com/content/129686767" in shared_find_by_id("phq-9")["description"]
    assert "could not be consulted" in shared_find_by_id("gad-7")["description"]
