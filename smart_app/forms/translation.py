"""A Questionnaire in the reader's language, from the FHIR `translation` extension (pure).

FHIR R4 lets any string carry its translations on the primitive's extension element:
`"_text": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/translation",
"extension": [{"url": "lang", "valueCode": "es"}, {"url": "content", "valueString": "..."}]}]}`
(https://hl7.org/fhir/R4/extension-translation.html; SDC "Language support",
https://hl7.org/fhir/uv/sdc/rendering.html#language). We read it on the title, each item's
`text` and `prefix`, and each answer option's display (`valueCoding._display` or `_valueString`),
and fall back to the base text wherever a translation is missing.

`localize(questionnaire, language)` returns a copy with the translated strings in place, which
the form engine builds as usual: the form, the review page and the QuestionnaireResponse's item
texts then all speak the same language. Codes, linkIds and scores never change.
"""
from __future__ import annotations

import copy
from typing import Any, Mapping

TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"
# A translated `text` replaces its rich-text rendering too (that rendering is in the base language).
RENDERING = ("http://hl7.org/fhir/StructureDefinition/rendering-xhtml",
             "http://hl7.org/fhir/StructureDefinition/rendering-markdown")


def _base(tag: str) -> str:
    """The primary language subtag, lower case ("es-MX" -> "es")."""
    return tag.replace("_", "-").split("-")[0].lower()


def translation_in(element: Any, language: str | None) -> str | None:
    """The translation a primitive's extension element (`_text`, `_display`, ...) carries for language.

    An exact tag wins over the same base language ("es-MX" asked: "es-MX", else "es", else any "es-*").
    """
    if not language or not isinstance(element, Mapping):
        return None
    wanted = language.replace("_", "-").lower()
    found: dict[str, str] = {}
    for ext in element.get("extension") or ():
        if not isinstance(ext, Mapping) or ext.get("url") != TRANSLATION:
            continue
        parts = {sub.get("url"): sub for sub in ext.get("extension") or () if isinstance(sub, Mapping)}
        lang = (parts.get("lang") or {}).get("valueCode")
        content = (parts.get("content") or {}).get("valueString")
        if isinstance(lang, str) and isinstance(content, str) and content.strip():
            found.setdefault(lang.replace("_", "-").lower(), content)
    if wanted in found:
        return found[wanted]
    if _base(wanted) in found:
        return found[_base(wanted)]
    return next((text for tag, text in found.items() if _base(tag) == _base(wanted)), None)


def translated(element: Mapping[str, Any], field: str, language: str | None) -> str | None:
    """`element[field]` in language when translated, else the base text (None when there is none)."""
    if not isinstance(element, Mapping):
        return None
    base = element.get(field)
    text = translation_in(element.get("_" + field), language)
    if text is not None:
        return text
    return base if isinstance(base, str) else None


def speaks(questionnaire: Mapping[str, Any], language: str | None) -> bool:
    """True when the form is written in language (its `language`, English when it says nothing)."""
    return bool(language) and _base(str(questionnaire.get("language") or "en")) == _base(str(language))


def has_translation(questionnaire: Mapping[str, Any], language: str | None) -> bool:
    """True when any string of the form carries a translation to language."""
    if not language or speaks(questionnaire, language):
        return False
    found = False

    def visit(node: Any) -> None:
        nonlocal found
        if found:
            return
        if isinstance(node, Mapping):
            for key, value in node.items():
                if key.startswith("_") and translation_in(value, language) is not None:
                    found = True
                    return
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(questionnaire)
    return found


def localize(questionnaire: Mapping[str, Any], language: str | None) -> Mapping[str, Any]:
    """The Questionnaire with its title, item texts, prefixes and option displays in language.

    Returns the same object when there is nothing to translate (the form's own language, or no
    translations to it); otherwise a copy, with `language` set to the one shown.
    """
    if not has_translation(questionnaire, language):
        return questionnaire
    out = copy.deepcopy(dict(questionnaire))
    _swap(out, "title", language)
    stack = list(out.get("item") or [])
    while stack:
        item = stack.pop()
        if not isinstance(item, dict):
            continue
        if _swap(item, "text", language):
            _drop_rendering(item)
        _swap(item, "prefix", language)
        for option in item.get("answerOption") or ():
            if not isinstance(option, dict):
                continue
            if isinstance(option.get("valueCoding"), dict):
                _swap(option["valueCoding"], "display", language)
            _swap(option, "valueString", language)
        stack.extend(item.get("item") or [])
    for resource in out.get("contained") or ():
        if isinstance(resource, dict) and resource.get("resourceType") == "ValueSet":
            _localize_value_set(resource, language)
    out["language"] = language
    return out


def _localize_value_set(value_set: dict[str, Any], language: str | None) -> None:
    """A contained ValueSet's displays (expansion and enumerated concepts), in place."""
    for entry in (value_set.get("expansion") or {}).get("contains") or ():
        if isinstance(entry, dict):
            _swap(entry, "display", language)
    for include in (value_set.get("compose") or {}).get("include") or ():
        for concept in (include or {}).get("concept") or ():
            if isinstance(concept, dict):
                _swap(concept, "display", language)


def _swap(element: dict[str, Any], field: str, language: str | None) -> bool:
    """Replace element[field] by its translation, in place; True when it was translated."""
    text = translation_in(element.get("_" + field), language)
    if text is None:
        return False
    element[field] = text
    return True


def _drop_rendering(item: dict[str, Any]) -> None:
    """Remove the base language's rich rendering of a translated text (its other extensions stay)."""
    extension_element = item.get("_text")
    if isinstance(extension_element, dict):
        item["_text"] = {**extension_element, "extension": [
            e for e in extension_element.get("extension") or () if not (isinstance(e, Mapping) and e.get("url") in RENDERING)]}
