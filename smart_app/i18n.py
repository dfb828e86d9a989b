"""Language, time zone and formatting for the person reading a page (Flask-Babel).

Which language, in order: the person's own choice (the switch on every page, kept in a
per-browser cookie), `Patient.communication.preferred` for a patient's launch, the browser's
`Accept-Language`, then English. Which time zone: the one the browser reports (static/app.js
keeps it in a cookie), else the deployment's (`time_zone` in launch.json or env
SMART_APP_TIME_ZONE), else UTC.

One format per kind of value, the same on every page:

    day(value)        "Tuesday 14 January"           "martes 14 de enero"
    date(value)       "14 January 2026"              "14 de enero de 2026"
    time(value)       "10:43"                        "10:43"
    date_time(value)  "Tuesday 14 January at 10:43"  "martes 14 de enero a las 10:43"
    fhir_date(value)  a FHIR date of any precision ("2026", "2026-01", "2026-01-14") as date() would say it
    number(value)     "1,234.5"                      "1.234,5"
    quantity(v, unit) "72 kg"

Values are FHIR strings (date, dateTime, instant) or `datetime`/`date` objects. A value with
a time zone is shown in the reader's zone; a bare date is never shifted. Each function takes
optional `locale=` and `zone=`; without them the current request's are used (English and the
deployment zone outside a request). Templates get the same functions as filters
(`{{ when|date_time }}`) and `_()` / `{% trans %}` for text.
"""
from __future__ import annotations

import os
import re
from datetime import date as Date, datetime, time as Time, timezone
from decimal import Decimal
from typing import Any, Mapping
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError, dates, numbers
from flask import Blueprint, Flask, current_app, has_request_context, redirect, request, url_for
from flask_babel import Babel, get_locale, get_timezone
from werkzeug.wrappers import Response

DEFAULT_LANGUAGE = "en"
# The languages the app speaks, each named in itself (the switch shows these names).
LANGUAGES: dict[str, str] = {"en": "English", "es": "Español"}
LANGUAGE_COOKIE = "previsit_lang"
ZONE_COOKIE = "previsit_tz"  # written by static/app.js from Intl.DateTimeFormat().resolvedOptions().timeZone
COOKIE_AGE = 365 * 24 * 3600
TRANSLATIONS = "translations"  # beside this module: smart_app/translations/<lang>/LC_MESSAGES/messages.po

# One pattern per kind of value and language (CLDR date-field symbols). Other locales get CLDR's
# own formats of the same length.
PATTERNS: dict[str, dict[str, str]] = {
    "en": {"day": "EEEE d MMMM", "date": "d MMMM y", "month": "MMMM y", "time": "HH:mm",
           "date_time": "EEEE d MMMM 'at' HH:mm"},
    "es": {"day": "EEEE d 'de' MMMM", "date": "d 'de' MMMM 'de' y", "month": "MMMM 'de' y", "time": "H:mm",
           "date_time": "EEEE d 'de' MMMM 'a las' H:mm"},
}
_FHIR_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
_ZONE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+){0,2}$")

_CHOSEN = "smart_app.language"  # request.environ key: this request's language, once chosen

bp = Blueprint("i18n", __name__)


# --- choosing the language and the zone ------------------------------------------------------

def supported(language: Any) -> str | None:
    """The supported language a tag names ("es-MX" -> "es"), or None."""
    if not isinstance(language, str) or not language.strip():
        return None
    base = language.strip().replace("_", "-").split("-")[0].lower()
    return base if base in LANGUAGES else None


def patient_language(patient: Mapping[str, Any] | None) -> str | None:
    """The supported language a Patient prefers (`communication.preferred`, else its only one), or None.

    FHIR R4 Patient.communication: language is a CodeableConcept of BCP-47 tags
    (https://hl7.org/fhir/R4/patient-definitions.html#Patient.communication).
    """
    if not isinstance(patient, Mapping):
        return None
    entries = [c for c in patient.get("communication") or () if isinstance(c, Mapping)]
    ordered = [c for c in entries if c.get("preferred") is True] + ([entries[0]] if len(entries) == 1 else [])
    for entry in ordered:
        language = entry.get("language")
        concept: Mapping[str, Any] = language if isinstance(language, Mapping) else {}
        for coding in concept.get("coding") or ():
            if isinstance(coding, Mapping) and (found := supported(coding.get("code"))):
                return found
    return None


def chosen_language() -> str | None:
    """The language this browser chose with the switch, if any."""
    return supported(request.cookies.get(LANGUAGE_COOKIE)) if has_request_context() else None


def select_language() -> str:
    """The language of this request: chosen, else the patient's (patient launches), else Accept-Language, else English."""
    if not has_request_context():
        return DEFAULT_LANGUAGE
    # Kept on the request's environ, which copies of the request context share (the home page's
    # task providers run in such copies): the launch record is read for this at most once.
    known = request.environ.get(_CHOSEN)
    if known:
        return known
    language = chosen_language() or _launch_language() or request.accept_languages.best_match(list(LANGUAGES)) \
        or current_app.config.get("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    request.environ[_CHOSEN] = language
    return language


def _launch_language() -> str | None:
    """The patient's language recorded at sign-in, for the launch this page belongs to (read once per request)."""
    handle = (request.view_args or {}).get("handle")
    if not handle:
        return None
    from smart_app.errors import LaunchError
    from smart_app.launch.session import current_launch

    try:
        launch = current_launch(handle)  # cached per request: the view asks for the same launch
    except LaunchError:
        return None  # the error page is rendered from the other choices
    return supported(getattr(launch, "patient_language", None))


def valid_zone(name: Any) -> str | None:
    """An IANA time zone name the system knows, or None (never raises; names come from browsers)."""
    if not isinstance(name, str) or len(name) > 64 or not _ZONE_NAME.match(name):
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def select_zone() -> str:
    """The time zone of this request: the browser's, else the deployment's."""
    if has_request_context():
        reported = valid_zone(request.cookies.get(ZONE_COOKIE))
        if reported:
            return reported
    return current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "UTC"


def current_zone() -> str:
    """The IANA name of the page's time zone (the browser's, else the deployment's)."""
    return select_zone() if has_request_context() else (current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "UTC")


def current_language() -> str:
    """The language of the page being built ("en", "es"); English outside a request."""
    locale = get_locale() if has_request_context() else None
    return (supported(str(locale)) if locale is not None else None) or DEFAULT_LANGUAGE


# --- formatting --------------------------------------------------------------------------------

def _locale(locale: str | Locale | None) -> Locale:
    """The given locale, else the request's, else English."""
    if isinstance(locale, Locale):
        return locale
    if locale:
        try:
            return Locale.parse(locale.replace("-", "_"))
        except (UnknownLocaleError, ValueError):
            return Locale.parse(DEFAULT_LANGUAGE)
    current = get_locale() if has_request_context() else None
    return current or Locale.parse(DEFAULT_LANGUAGE)


def _zone(zone: Any) -> Any:
    """The given zone (name or tzinfo), else the request's, else the deployment's."""
    if isinstance(zone, str):
        return ZoneInfo(valid_zone(zone) or "UTC")
    if zone is not None:
        return zone
    if has_request_context():
        return get_timezone()
    try:
        return ZoneInfo(valid_zone(current_app.config.get("BABEL_DEFAULT_TIMEZONE")) or "UTC")
    except RuntimeError:  # no app context either
        return timezone.utc


def _pattern(kind: str, loc: Locale) -> str:
    """Our pattern for this kind of value in this locale; CLDR's long form for other languages."""
    table = PATTERNS.get(loc.language)
    if table:
        return table[kind]
    if kind == "date_time":
        return f"{_pattern('day', loc)} {_pattern('time', loc)}"
    fallback = {"day": "MMMMEEEEd", "date": "yMMMMd", "month": "yMMMM", "time": "Hm"}[kind]
    skeleton = loc.datetime_skeletons.get(fallback)
    return skeleton.pattern if skeleton is not None else {"time": "HH:mm"}.get(kind, "d MMMM y")


def parse_fhir(value: Any) -> datetime | Date | None:
    """A FHIR date, dateTime or instant (or a datetime/date, or epoch seconds) as a datetime (aware when it had a zone) or a date.

    Partial dates ("2026", "2026-01") and unparseable text give None; see `fhir_date` for those.
    """
    if isinstance(value, datetime) or isinstance(value, Date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):  # seconds since the epoch (time.time())
        return datetime.fromtimestamp(value, timezone.utc)
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if len(text) == 10 and _FHIR_DATE.match(text):
        try:
            return Date.fromisoformat(text)
        except ValueError:
            return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _local(value: Any, zone: Any) -> datetime | None:
    """A date-time in the reader's zone (naive ones are taken as already local)."""
    parsed = parse_fhir(value)
    if isinstance(parsed, datetime):
        return parsed.astimezone(_zone(zone)) if parsed.tzinfo else parsed
    if isinstance(parsed, Date):
        return datetime(parsed.year, parsed.month, parsed.day)
    return None


def _calendar_day(value: Any, zone: Any) -> Date | None:
    """The calendar day of a value: a bare date as it is, a date-time in the reader's zone."""
    parsed = parse_fhir(value)
    if isinstance(parsed, datetime):
        return (parsed.astimezone(_zone(zone)) if parsed.tzinfo else parsed).date()
    return parsed


def day(value: Any, *, locale: str | Locale | None = None, zone: Any = None) -> str:
    """A day near now, with its weekday: "Tuesday 14 January". Empty for nothing usable."""
    found = _calendar_day(value, zone)
    if found is None:
        return _as_text(value)
    loc = _locale(locale)
    return dates.format_date(found, _pattern("day", loc), locale=loc)


def date(value: Any, *, locale: str | Locale | None = None, zone: Any = None) -> str:
    """A calendar date with its year: "14 January 2026" (birth dates, start dates)."""
    found = _calendar_day(value, zone)
    if found is None:
        return fhir_date(value, locale=locale)
    loc = _locale(locale)
    return dates.format_date(found, _pattern("date", loc), locale=loc)


def time(value: Any, *, locale: str | Locale | None = None, zone: Any = None) -> str:
    """A time of day in the reader's zone: "10:43" (never "UTC")."""
    local = _local(value, zone)
    if local is None:
        return _as_text(value)
    loc = _locale(locale)
    return dates.format_time(local, _pattern("time", loc), locale=loc)


def date_time(value: Any, *, locale: str | Locale | None = None, zone: Any = None) -> str:
    """A moment in the reader's zone: "Tuesday 14 January at 10:43"; a bare date reads as day()."""
    parsed = parse_fhir(value)
    if not isinstance(parsed, datetime):
        return day(value, locale=locale, zone=zone)
    local = parsed.astimezone(_zone(zone)) if parsed.tzinfo else parsed
    loc = _locale(locale)
    return dates.format_datetime(local, _pattern("date_time", loc), locale=loc)


def fhir_date(value: Any, *, locale: str | Locale | None = None) -> str:
    """A FHIR date of any precision as words: "2026", "January 2026", "14 January 2026"."""
    text = value.strip() if isinstance(value, str) else ""
    match = _FHIR_DATE.match(text[:10]) if text else None
    if not match:
        return date(value, locale=locale) if isinstance(value, (datetime, Date)) else _as_text(value)
    year, month, dom = match.groups()
    loc = _locale(locale)
    try:
        if dom and len(text) == 10:
            return dates.format_date(Date(int(year), int(month), int(dom)), _pattern("date", loc), locale=loc)
        if dom:  # a dateTime: its calendar day as written (no zone to shift a date by)
            return date(text, locale=loc)
        if month:
            return dates.format_date(Date(int(year), int(month), 1), _pattern("month", loc), locale=loc)
    except ValueError:
        return text
    return year


def number(value: Any, *, locale: str | Locale | None = None) -> str:
    """A number in the reader's locale ("1,234.5" / "1.234,5"); text that is not a number as it is."""
    if isinstance(value, Decimal) and value.is_finite():
        return numbers.format_decimal(value, locale=_locale(locale), decimal_quantization=False)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            value = float(value) if isinstance(value, str) and value.strip() else value
        except ValueError:
            return value
        if not isinstance(value, (int, float)):
            return _as_text(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return numbers.format_decimal(value, locale=_locale(locale), decimal_quantization=False)


def quantity(value: Any, unit: str | None, *, locale: str | Locale | None = None) -> str:
    """A measurement: "72 kg", "128/82 mmHg" stays as given; the unit as written (a `Text` unit,
    e.g. "years", in the reader's language)."""
    shown = number(value, locale=locale)
    if unit and hasattr(unit, "msgid"):
        unit = say(unit)
    return f"{shown} {unit}".strip() if unit else shown


def _as_text(value: Any) -> str:
    """Whatever it was, as text (empty for None)."""
    return "" if value is None else str(value)


# --- the switch -----------------------------------------------------------------------------

def safe_next(target: str | None) -> str:
    """A same-site path to go back to after choosing a language; the server list for anything else."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("home.index")


# Pages that must not be fetched twice (a sign-in start or its single-use reply): the switch on
# them (their error pages) returns to the server list instead.
NOT_REPEATABLE = frozenset({"launch.start", "launch.callback"})


def switch_back() -> str:
    """Where the switch returns to: this page when it can be fetched again, else the page it came from."""
    if request.endpoint in NOT_REPEATABLE:
        return url_for("home.index")
    if request.method == "GET":
        return request.full_path.rstrip("?")
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host and referrer.path:
        return referrer.path + (f"?{referrer.query}" if referrer.query else "")
    return url_for("home.index")


def language_links() -> list[dict[str, Any]]:
    """The switch's entries: each language in its own name, its link, and whether it is the page's."""
    here = current_language()
    back = switch_back()
    return [{"code": code, "name": name, "current": code == here,
             "url": url_for("i18n.choose", language=code, next=back)} for code, name in LANGUAGES.items()]


@bp.get("/language/<language>")
def choose(language: str) -> Response:
    """Remember this browser's language (a cookie; nothing stored server-side) and go back to the page."""
    code = supported(language)
    response = redirect(safe_next(request.args.get("next")), code=303)
    if code:
        config = current_app.config
        response.set_cookie(LANGUAGE_COOKIE, code, max_age=COOKIE_AGE, path="/", httponly=True,
                            secure=bool(config.get("SESSION_COOKIE_SECURE")),
                            samesite=config.get("SESSION_COOKIE_SAMESITE"),
                            partitioned=bool(config.get("SESSION_COOKIE_PARTITIONED")))
    return response


# The Jinja filters of the formats above (`{{ when|date_time }}`); templates rendered outside the
# app (template tests) add them with `env.filters.update(i18n.FILTERS)`.
FILTERS = {"day": day, "date": date, "time": time, "date_time": date_time, "fhir_date": fhir_date,
           "number": number, "quantity": quantity, "say": lambda message: say(message)}


def say(message: Any) -> str:
    """A message from a pure core in the reader's language: a `text.Text` by its catalog id and
    values (an `NText` by the reader's plural rule; numbers among the values in the reader's
    locale, dates as `date()` says them), any other string looked up as it is (untranslated text
    comes back unchanged)."""
    from flask_babel import get_translations, gettext

    if message is None:
        return ""
    parts = getattr(message, "parts", None)
    if isinstance(parts, tuple):  # text.Joined
        return str(getattr(message, "sep", " ")).join(say(p) for p in parts)
    msgid = getattr(message, "msgid", None)
    if isinstance(msgid, str):
        values = {key: _said_value(value) for key, value in (getattr(message, "values", None) or {}).items()}
        plural = getattr(message, "plural", None)
        if isinstance(plural, str):  # the form for this count in the reader's language, the count in its locale
            return str(get_translations().ungettext(msgid, plural, int(message.values["num"]))) % values
        return gettext(msgid, **values) if values else gettext(msgid)
    return gettext(str(message)) if str(message) else ""


def _said_value(value: Any) -> Any:
    """One value of a message as the reader reads it: Texts said, lists joined, numbers and dates in their locale."""
    if isinstance(value, (list, tuple)):
        return ", ".join(_said_value(v) for v in value)
    if hasattr(value, "msgid") or hasattr(value, "parts"):
        return say(value)
    if isinstance(getattr(value, "fhir", None), str):  # text.FhirDate
        return fhir_date(value.fhir)
    if isinstance(value, Time):
        loc = _locale(None)
        return dates.format_time(value, _pattern("time", loc), locale=loc)
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return number(value)
    if isinstance(value, Date) and not isinstance(value, datetime):
        return date(value)
    return value


def deployment_zone(registration: Mapping[str, Any] | None, source: str) -> str:
    """The deployment's time zone: env SMART_APP_TIME_ZONE, else launch.json `time_zone`, else UTC."""
    from smart_app.config import ConfigError

    configured = os.environ.get("SMART_APP_TIME_ZONE") or (registration or {}).get("time_zone")
    if configured is None:
        return "UTC"
    if not valid_zone(configured):
        raise ConfigError(source, "time_zone", f"{configured!r} is not an IANA time zone name (e.g. Europe/London)")
    return configured


def init_app(app: Flask, registration: Mapping[str, Any] | None = None, source: str = "launch.json") -> None:
    """Install Flask-Babel with our selectors, the formatting filters and the language switch."""
    install(app, registration, source)
    app.register_blueprint(bp)


def install(app: Flask, registration: Mapping[str, Any] | None = None, source: str = "launch.json") -> None:
    """Flask-Babel, the filters and the template globals without the switch's route (for an app that
    serves the templates under the app's own URL rules, e.g. bench/floor.py)."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    if not app.config.get("BABEL_DEFAULT_TIMEZONE"):
        app.config["BABEL_DEFAULT_TIMEZONE"] = deployment_zone(registration, source)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", TRANSLATIONS)
    Babel(app, locale_selector=select_language, timezone_selector=select_zone)
    app.jinja_env.filters.update(FILTERS)
    app.jinja_env.globals.update(current_language=current_language, language_links=language_links,
                                 LANGUAGES=LANGUAGES, say=say, current_zone=current_zone)


__all__ = [
    "DEFAULT_LANGUAGE", "LANGUAGES", "LANGUAGE_COOKIE", "ZONE_COOKIE", "PATTERNS", "chosen_language",
    "current_language", "date", "date_time", "day", "fhir_date", "init_app", "install", "say", "language_links", "number",
    "parse_fhir", "patient_language", "quantity", "select_language", "select_zone", "supported", "time",
    "valid_zone",
]
