"""The closed set of launch error codes, each with a plain-language message, and the exception type."""
from __future__ import annotations

from enum import Enum


def N_(text: str) -> str:
    """Mark text for the catalog; the error page translates it (`_(code.heading)`)."""
    return text


class LaunchErrorCode(str, Enum):
    """Why a launch (or a page that needs one) could not go on."""

    # value, HTTP status, heading, plain explanation, whether relaunching may help
    status: int
    heading: str  # not `title`: that would shadow str.title on a str enum
    message: str
    relaunch: bool

    UNKNOWN_ISSUER = ("UNKNOWN_ISSUER", 400, N_("This EHR is not registered with the app"),
                      N_("The app was opened from a health record system it does not know. Ask your administrator to register it."), False)
    MISSING_ISSUER = ("MISSING_ISSUER", 400, N_("The launch link is incomplete"),
                      N_("The link that opened the app did not say which health record system to use."), False)
    INVALID_STATE = ("INVALID_STATE", 400, N_("This sign-in could not be matched"),
                     N_("The reply from the health record system did not match a sign-in started here. Start again from your health record system."), True)
    STATE_REUSED = ("STATE_REUSED", 400, N_("This sign-in link was already used"),
                    N_("Each sign-in can only be completed once. Start again from your health record system."), True)
    COOKIES_BLOCKED = ("COOKIES_BLOCKED", 400, N_("Your browser blocked the app's cookie"),
                       N_("The app could not keep your sign-in because the browser blocks its cookie inside the health record window. Open the app in a new window to continue."), True)
    DISCOVERY_FAILED = ("DISCOVERY_FAILED", 502, N_("The app could not connect to the health record system"),
                        N_("The app could not read the health record system's sign-in settings."), True)
    STANDALONE_UNSUPPORTED = ("STANDALONE_UNSUPPORTED", 400, N_("Open the app from your health record system"),
                              N_("This health record system opens the app only from inside it, not from a separate link."), False)
    DISCOVERY_REFUSED = ("DISCOVERY_REFUSED", 502, N_("The health record system's settings were refused"),
                         N_("The health record system's sign-in settings point somewhere the app is not registered to trust. Ask your administrator to check the app's registration."), False)
    PKCE_UNSUPPORTED = ("PKCE_UNSUPPORTED", 502, N_("The health record system is not secure enough"),
                        N_("The health record system does not support the secure sign-in method (PKCE S256) this app requires."), False)
    AUTH_METHOD_UNSUPPORTED = ("AUTH_METHOD_UNSUPPORTED", 502, N_("The app is not set up for this health record system"),
                               N_("The health record system does not accept the way this app is registered to sign in. Ask your administrator to check the app's registration."), False)
    INSECURE_ENDPOINT = ("INSECURE_ENDPOINT", 502, N_("The health record system is not secure enough"),
                         N_("The health record system asked the app to send sign-in data over an unencrypted connection."), False)
    EHR_ERROR = ("EHR_ERROR", 400, N_("The health record system stopped the sign-in"),
                 N_("The health record system did not give the app access."), True)
    ISS_MISMATCH = ("ISS_MISMATCH", 400, N_("The reply came from the wrong system"),
                    N_("The sign-in reply did not come from the health record system the app asked."), True)
    TOKEN_EXCHANGE_FAILED = ("TOKEN_EXCHANGE_FAILED", 502, N_("Sign-in could not be completed"),
                             N_("The health record system did not accept the app's sign-in request."), True)
    ID_TOKEN_INVALID = ("ID_TOKEN_INVALID", 502, N_("The sign-in could not be verified"),
                        N_("The identity information from the health record system failed a security check."), True)
    NO_PATIENT_CONTEXT = ("NO_PATIENT_CONTEXT", 400, N_("No patient was selected"),
                          N_("The app needs a patient, but the health record system did not say which one."), True)
    USER_NOT_FOR_PATIENT = ("USER_NOT_FOR_PATIENT", 403, N_("This sign-in is not for this person's record"),
                            N_("The person who signed in is not linked to the record that was opened. Sign in again as the patient, or as someone the patient has linked to their record."), True)
    CONTEXT_TOO_LARGE = ("CONTEXT_TOO_LARGE", 502, N_("The health record system sent too much launch information"),
                         N_("The health record system sent more details about this launch than the app can keep, so the app did not open. Ask your administrator to check what the health record system sends when it opens the app."), False)
    LAUNCH_EXPIRED = ("LAUNCH_EXPIRED", 401, N_("Your session has ended"),
                      N_("This session has ended or was opened in another browser. Start the app again from your health record system."), True)
    REFRESH_FAILED = ("REFRESH_FAILED", 401, N_("Your access has expired"),
                      N_("The app's access to the health record ended and could not be renewed. Start the app again."), True)
    CSRF_FAILED = ("CSRF_FAILED", 400, N_("The form was out of date"),
                   N_("The form could not be accepted because it was out of date or sent from another page. Go back, reload and try again."), False)
    TOO_MANY_LAUNCHES = ("TOO_MANY_LAUNCHES", 429, N_("Too many sign-ins at once"),
                         N_("Too many sign-ins were started from this network in a short time. Wait a few minutes, then start the app again."), True)

    def __new__(cls, value: str, status: int, heading: str, message: str, relaunch: bool) -> "LaunchErrorCode":
        """Build a member carrying its status, heading, message and relaunch hint."""
        member = str.__new__(cls, value)
        member._value_ = value
        member.status = status
        member.heading = heading
        member.message = message
        member.relaunch = relaunch
        return member


# Codes whose detail is the real reason a person (or their administrator) needs to see.
SHOWN_DETAIL = frozenset({LaunchErrorCode.EHR_ERROR, LaunchErrorCode.DISCOVERY_FAILED,
                          LaunchErrorCode.TOKEN_EXCHANGE_FAILED, LaunchErrorCode.REFRESH_FAILED})
DETAIL_LIMIT = 300


def safe_detail(text: str, limit: int = DETAIL_LIMIT, redact: tuple[str | None, ...] = ()) -> str:
    """Server-supplied text made fit to show and log: printable only, secrets removed, length-limited."""
    for secret in redact:
        if secret:
            text = text.replace(secret, "[redacted]")
    text = "".join(c if c.isprintable() else " " for c in text).strip()
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


class LaunchError(Exception):
    """A launch step failed for a reason in LaunchErrorCode.

    `detail` is safe, short, non-clinical text (e.g. the EHR's OAuth error code); it is
    escaped when shown. `iss` lets the error page offer a relaunch link; `mode` ("ehr" or
    "standalone") says whether a link could work at all.
    """

    def __init__(self, code: LaunchErrorCode, detail: str = "", *, iss: str | None = None, mode: str | None = None) -> None:
        super().__init__(f"{code.value}: {detail}" if detail else code.value)
        self.code = code
        self.detail = detail
        self.iss = iss
        self.mode = mode


DISCOVERY_KINDS = ("unreachable", "timeout", "not_smart")


class DiscoveryError(LaunchError):
    """Discovery failed; `kind` says whether the server was unreachable, too slow, or not a SMART server."""

    def __init__(self, kind: str, detail: str, *, iss: str | None = None) -> None:
        super().__init__(LaunchErrorCode.DISCOVERY_FAILED, detail, iss=iss)
        if kind not in DISCOVERY_KINDS:
            raise ValueError(f"unknown discovery failure kind {kind!r}")
        self.kind = kind
