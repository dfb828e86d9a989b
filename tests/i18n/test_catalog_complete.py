"""Every text the app can show has its Spanish, and the compiled catalog is the one the source says."""
from pathlib import Path

from babel.messages.frontend import CommandLineInterface
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "smart_app" / "translations"
LANGUAGES = ("es",)


def catalog(language: str):
    """The source catalog (.po) of a language."""
    with (TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=language)


def marked_texts() -> set[str]:
    """Every msgid marked in the code and templates, extracted now (the same rules as .ci/translations)."""
    method_map = [("**.py", "python"), ("**.html", "jinja2")]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None, "N_": None, "Text": None, "NText": (1, 2),
                "pgettext": ((1, "c"), 2), "npgettext": ((1, "c"), 2, 3)}
    found: set[str] = set()
    for folder in ("smart_app", "templates"):
        for _file, _line, message, _comments, _context in extract_from_dir(
                ROOT / folder, method_map, keywords=keywords,
                directory_filter=lambda path: Path(path).name not in {"__pycache__"} and not Path(path).name.startswith(".")):
            found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_every_marked_text_is_in_the_catalog_and_translated() -> None:
    for language in LANGUAGES:
        entries = {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalog(language) if m.id}
        missing = sorted(marked_texts() - set(entries))
        assert not missing, f"{language}: not in the catalog (run .ci/translations): {missing[:20]}"
        untranslated = sorted(key for key, m in entries.items()
                              if not (all(m.string) if isinstance(m.string, tuple) else m.string))
        assert not untranslated, f"{language}: {len(untranslated)} texts without a translation: {untranslated[:20]}"
        fuzzy = sorted(key for key, m in entries.items() if m.fuzzy)
        assert not fuzzy, f"{language}: fuzzy (unchecked) translations: {fuzzy[:20]}"


def test_translations_keep_their_placeholders() -> None:
    for language in LANGUAGES:
        for message in catalog(language):
            if not message.id or not message.python_format:
                continue
            assert not message.check(catalog(language)), (message.id, message.check(catalog(language)))


def test_the_compiled_catalog_matches_its_source() -> None:
    for language in LANGUAGES:
        mo = TRANSLATIONS / language / "LC_MESSAGES" / "messages.mo"
        if not mo.exists():  # .ci/setup compiles it; compile here for a bare checkout
            CommandLineInterface().run(["pybabel", "-q", "compile", "-d", str(TRANSLATIONS)])
        with mo.open("rb") as fh:
            compiled = {_key(m.id): _key(m.string) for m in read_mo(fh) if m.id}
        source = {_key(m.id): _key(m.string) for m in catalog(language) if m.id and m.string}
        assert compiled == source, "the .mo is stale: run `.ci/translations compile` (or .ci/setup)"


def _key(value):
    """A message id or string as a comparable value (plural forms come as lists or tuples)."""
    return value if isinstance(value, str) else tuple(value)
