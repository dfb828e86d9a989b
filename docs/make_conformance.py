"""Regenerate docs/conformance.md from the requirements CSV and the hand-written mapping below.

Usage: python docs/make_conformance.py /path/to/smart-client-stu2.2-requirements.csv
"""
from __future__ import annotations

import csv
import sys
from pathlib import Path

A = "tests/launch/test_authorize.py::"
CB = "tests/launch/test_callback_state.py::"
CA = "tests/launch/test_client_auth.py::"
CF = "tests/launch/test_config.py::"
CX = "tests/launch/test_context.py::"
ID = "tests/launch/test_id_token.py::"
ML = "tests/launch/test_multi_launch.py::"
RF = "tests/launch/test_refresh.py::"
SE = "tests/launch/test_security.py::"
ST = "tests/launch/test_store.py::"
UI = "tests/launch/test_unknown_issuer.py::"
FH = "tests/fhir/"

BACKEND = "N/A: backend services (client_credentials) are not used; this is a user-facing launch app."
BRANDS = "N/A: the app does not consume User Access Brand bundles (EHRs are registered in launch.json)."
SERVER = "N/A: a server-side rule, not a client obligation."

# id -> (status, how it is met / why not, evidence)
MAP: dict[str, tuple[str, str, str]] = {
    "1": ("met", "iss and every discovered endpoint (authorize, token, jwks, revocation, introspection) must be https on the registered iss's origin (or an origin launch.json lists for it; docs/security.md); plain http only for the local sandbox (a loopback endpoint of a loopback iss); discovery refuses insecure endpoints before the browser or any code, secret or token is sent; FHIR and token HTTP ignore proxy/netrc settings from the environment",
          f"{CF}test_plain_http_iss_for_a_remote_host_is_refused, {CF}test_http_iss_allowed_only_for_loopback, {A}test_insecure_endpoint_for_remote_host_is_refused, {A}test_https_ehr_may_not_name_a_plain_http_endpoint_even_on_loopback, {FH}test_transport_isolation.py::test_proxy_environment_variables_are_ignored"),
    "2": ("met", "state = 256 random bits per authorization", f"{A}test_state_and_nonce_are_long_random_and_unique"),
    "3": ("met", "every authorize request carries state", f"{A}test_ehr_launch_sends_exact_authorize_parameters"),
    "4": ("met", "callback consumes the stored state once; missing/unknown/reused/expired rejected before any token request",
          f"{CB}test_missing_or_unknown_state_is_400_and_no_token_request, {CB}test_tampered_state_is_rejected_and_no_token_request, {CB}test_replayed_callback_is_rejected_without_a_second_token_request, {CB}test_expired_pending_state_is_rejected"),
    "5": ("met", "Jinja autoescape everywhere, no `|safe` on server data, CSP self-only without unsafe-inline",
          f"{CB}test_ehr_error_redirect_shows_the_error_and_offers_only_a_relaunch_that_can_work, {SE}test_no_inline_script_or_style_in_pages, {SE}test_pages_carry_security_headers"),
    "6": ("met", "the callback only ever redirects to the app's own /l/<handle>/", f"{A}test_callback_never_redirects_anywhere_but_the_launch_page"),
    "7": ("met", "tokens live only in the encrypted server-side store; the cookie is an opaque browser id",
          f"{SE}test_no_token_string_in_any_body_location_or_cookie, {SE}test_tokens_are_encrypted_at_rest"),
    "8": ("met", "app-specific instance folder (files 0600) or the app's Redis prefix; Fernet-encrypted", f"{SE}test_tokens_are_encrypted_at_rest, {ST}test_values_are_encrypted_and_keys_hashed"),
    "9": ("met", "as row 8", f"{ST}test_values_are_encrypted_and_keys_hashed"),
    "10": ("met", "no secret is embedded: client secrets come from env vars named in launch.json; the file may not hold one", f"{CF}test_broken_registration_names_key_and_problem"),
    "11": ("met", "server-side app: confidential auth (client_secret_basic, private_key_jwt) is supported per EHR", f"{CA}test_client_secret_basic_on_exchange_and_refresh, {CA}test_private_key_jwt_on_exchange_and_refresh"),
    "12": ("met", "public client (`none`) supported where the EHR registers the app as public", f"{CA}test_public_client_sends_client_id_in_body_and_no_secret"),
    "13": ("met", "PKCE S256 always; servers that list methods without S256 are refused", f"{A}test_code_verifier_in_token_body_matches_the_challenge, {A}test_server_without_s256_is_refused_before_redirect"),
    "20": ("met", "launch.json `launch_uri` (fixed, fully specified)", f"{CF}test_shipped_launch_json_is_valid_and_lists_both_sandboxes"),
    "21": ("met", "launch.json `redirect_uris` (first is used)", f"{CF}test_shipped_launch_json_is_valid_and_lists_both_sandboxes"),
    "22": ("met", "launch.json `jwks_uri`; keys served at /.well-known/jwks.json", f"{CA}test_jwks_endpoint_serves_only_public_keys"),
    "23": ("met", "`client_secret_env` names the secret's env var", f"{CA}test_client_secret_basic_on_exchange_and_refresh"),
    "29": ("met", "GET {iss}/.well-known/smart-configuration; CapabilityStatement fallback; cached per iss",
           f"{A}test_discovery_is_cached_across_launches, {A}test_discovery_falls_back_to_capability_statement"),
    "32": ("met", "response_type=code", f"{A}test_ehr_launch_sends_exact_authorize_parameters"),
    "33": ("met", "client_id from the server's entry", f"{A}test_ehr_launch_sends_exact_authorize_parameters"),
    "34": ("met", "redirect_uri = redirect_uris[0]", f"{A}test_ehr_launch_sends_exact_authorize_parameters"),
    "35": ("met", "launch echoed unchanged", f"{A}test_ehr_launch_sends_exact_authorize_parameters"),
    "36": ("met", "no launch parameter on standalone", f"{A}test_standalone_launch_asks_for_patient_and_no_launch_param"),
    "37": ("met", "scope from launch.json (per-server override), plus launch or launch/patient", f"{A}test_ehr_launch_sends_exact_authorize_parameters"),
    "39": ("met", "state bound to the browser session and single use", f"{CB}test_state_is_bound_to_the_browser_that_started_it"),
    "40": ("met", "256 bits of entropy (secrets.token_urlsafe(32))", f"{A}test_state_and_nonce_are_long_random_and_unique"),
    "41": ("met", "aud = the exact registered iss", f"{A}test_ehr_launch_sends_exact_authorize_parameters"),
    "42": ("n/a", SERVER, ""),
    "43": ("n/a", "MAY, server side; the app sends `aud`", ""),
    "44": ("met", "code_challenge from Authlib's RFC 7636 S256", f"{A}test_code_verifier_in_token_body_matches_the_challenge"),
    "45": ("met", "code_challenge_method=S256", f"{A}test_ehr_launch_sends_exact_authorize_parameters"),
    "46": ("met", "SHOULD: default scopes are the types the features use, no wildcards, no delete", f"{CF}test_shipped_default_scopes_are_valid_smart_v2_and_minimal"),
    "47": ("met", "openid fhirUser requested by default; nonce sent", f"{A}test_ehr_launch_sends_exact_authorize_parameters"),
    "50": ("met", "GET, or POST when the URL is long and the server advertises authorize-post", f"{A}test_long_request_is_posted_when_server_allows_authorize_post, {A}test_long_request_stays_get_when_post_not_advertised"),
    "51": ("met", "query-string serialisation via Authlib", f"{A}test_ehr_launch_sends_exact_authorize_parameters"),
    "52": ("met", "form POST (application/x-www-form-urlencoded) from an auto-submitting page", f"{A}test_long_request_is_posted_when_server_allows_authorize_post"),
    "60": ("met", "as row 4", f"{CB}test_tampered_state_is_rejected_and_no_token_request"),
    "61": ("met", "pending record stores the browser id; another browser or no cookie is refused", f"{CB}test_state_is_bound_to_the_browser_that_started_it, {CB}test_callback_without_cookie_says_cookies_blocked_and_offers_new_window"),
    "62": ("met", "POST, form-encoded", f"{A}test_code_verifier_in_token_body_matches_the_challenge"),
    "63": ("met", "public clients send no client authentication", f"{CA}test_public_client_sends_client_id_in_body_and_no_secret"),
    "64": ("met", "confidential clients authenticate on exchange and refresh", f"{CA}test_client_secret_basic_on_exchange_and_refresh, {CA}test_private_key_jwt_on_exchange_and_refresh"),
    "65": ("met", "SHOULD: private_key_jwt available per server", f"{CA}test_private_key_jwt_on_exchange_and_refresh"),
    "66": ("met", "MAY: client_secret_basic available", f"{CA}test_client_secret_basic_on_exchange_and_refresh"),
    "67": ("met", "grant_type=authorization_code", f"{A}test_code_verifier_in_token_body_matches_the_challenge"),
    "68": ("met", "code from the redirect", f"{A}test_code_verifier_in_token_body_matches_the_challenge"),
    "69": ("met", "same redirect_uri", f"{A}test_code_verifier_in_token_body_matches_the_challenge"),
    "70": ("met", "code_verifier matches the challenge", f"{A}test_code_verifier_in_token_body_matches_the_challenge"),
    "71": ("met", "public: client_id in body", f"{CA}test_public_client_sends_client_id_in_body_and_no_secret"),
    "72": ("met", "confidential: no client_id in body", f"{CA}test_client_secret_basic_on_exchange_and_refresh, {CA}test_private_key_jwt_on_exchange_and_refresh"),
    "90": ("met", "as row 8", f"{SE}test_tokens_are_encrypted_at_rest"),
    "93": ("met", "FhirClient sends `Authorization: Bearer` with the launch's own token", f"{ML}test_two_interleaved_launches_keep_their_own_patient, {FH}test_request_headers_and_urls.py::test_read_sends_bearer_accept_and_request_id"),
    "97": ("met", "SHOULD NOT: FhirClient follows next links only on the same origin and never sends the token elsewhere", f"{FH}test_search_paging.py::test_refuses_next_link_on_another_origin_without_sending_the_token"),
    "98": ("met", "SHOULD: references to other servers are ignored", f"{FH}test_search_paging.py::test_refuses_next_links_that_change_scheme_host_or_add_userinfo"),
    "105": ("met", "grant_type=refresh_token", f"{CA}test_public_client_sends_client_id_in_body_and_no_secret"),
    "106": ("met", "refresh_token from the launch record (rotated when a new one arrives)", f"{RF}test_refresh_before_expiry_then_page_uses_the_new_token"),
    "107": ("met", "MAY: the app sends no scope on refresh", f"{CA}test_public_client_sends_client_id_in_body_and_no_secret"),
    "108": ("met", "no scope is sent on refresh, so never more than granted", f"{CA}test_public_client_sends_client_id_in_body_and_no_secret"),
    "117": ("met", "a new refresh_token replaces the old; none keeps the old", f"{RF}test_refresh_before_expiry_then_page_uses_the_new_token, {RF}test_refresh_without_new_refresh_token_keeps_the_old_one"),
    "120": ("met", "v2 `c` used for create (Observation, Provenance, QuestionnaireResponse)", f"{CF}test_shipped_default_scopes_are_valid_smart_v2_and_minimal"),
    "121": ("met", "v2 `r` for reads", f"{CF}test_shipped_default_scopes_are_valid_smart_v2_and_minimal"),
    "122": ("met", "v2 `u` for QuestionnaireResponse updates", f"{CF}test_shipped_default_scopes_are_valid_smart_v2_and_minimal"),
    "124": ("n/a", "the app never deletes, so it never asks for `d`", f"{CF}test_shipped_default_scopes_are_valid_smart_v2_and_minimal"),
    "125": ("met", "v2 `s` for searches", f"{CF}test_shipped_default_scopes_are_valid_smart_v2_and_minimal"),
    "131": ("met", "SHOULD: scopes written in shortest form (`.rs`, `.crus`)", f"{CF}test_shipped_default_scopes_are_valid_smart_v2_and_minimal"),
    "132": ("n/a", "conditional: the default registration uses no `?param=` suffixes; a per-server scope override may (v1 servers get them dropped)", ""),
    "133": ("partial", "SHOULD: GET by default (widest server support); POST when the request is long and authorize-post is advertised", f"{A}test_long_request_is_posted_when_server_allows_authorize_post"),
    "135": ("met", "scope syntax checked for the shipped registration", f"{CF}test_shipped_default_scopes_are_valid_smart_v2_and_minimal"),
    "137": ("met", "patient/ scopes", f"{CF}test_shipped_default_scopes_are_valid_smart_v2_and_minimal"),
    "141": ("n/a", "the app requests no user/ scopes (patient-centred data only)", ""),
    "143": ("n/a", "no system/ scopes (no backend services)", ""),
    "146": ("n/a", "no wildcard scopes requested", f"{CF}test_shipped_default_scopes_are_valid_smart_v2_and_minimal"),
    "147": ("met", "SHOULD: granted scopes drive permissions up front (read-only mode, skipped reads)", f"{CX}test_reduced_granted_scopes_show_read_only_mode_up_front, {CX}test_reduced_scopes_without_patient_read_skip_the_banner_read"),
    "148": ("met", "SHOULD: no wildcards", f"{CF}test_shipped_default_scopes_are_valid_smart_v2_and_minimal"),
    "150": ("met", "launch context scopes added to resource scopes", f"{A}test_ehr_launch_sends_exact_authorize_parameters"),
    "151": ("met", "`launch` / `launch/patient`", f"{A}test_standalone_launch_asks_for_patient_and_no_launch_param"),
    "152": ("met", "standalone requests launch/patient", f"{A}test_standalone_launch_asks_for_patient_and_no_launch_param"),
    "153": ("n/a", "the app uses encounter context only in EHR launch, where the EHR supplies it under the `launch` scope (`launch/encounter` asks for one outside the EHR); standalone launches need no encounter, so none is requested",
            f"{ML}test_home_page_shows_banner_and_encounter_without_extra_round_trips, {A}test_ehr_launch_sends_exact_authorize_parameters, {A}test_standalone_launch_asks_for_patient_and_no_launch_param"),
    "155": ("n/a", "no other launch/<type> contexts requested", ""),
    "156": ("n/a", "no role-qualified launch contexts requested", ""),
    "157": ("n/a", "as row 156", ""),
    "158": ("n/a", "as row 156", ""),
    "161": ("met", "EHR launch passes `launch` through", f"{A}test_ehr_launch_sends_exact_authorize_parameters"),
    "162": ("n/a", "MAY: no hints sent with EHR launch", ""),
    "166": ("met", "standalone explicitly asks for patient context", f"{A}test_standalone_launch_asks_for_patient_and_no_launch_param"),
    "191": ("met", "fhirContext items without role are treated as role `launch`", f"{ID}test_fhir_context_without_role_means_launch"),
    "193": ("met", "SHOULD: `intent` is recorded but the default UI is always shown", f"{CX}test_token_response_context_is_parsed_and_malformed_fields_dropped"),
    "195": ("met", "MAY: openid requested", f"{A}test_ehr_launch_sends_exact_authorize_parameters"),
    "196": ("met", "openid with fhirUser", f"{A}test_ehr_launch_sends_exact_authorize_parameters"),
    "201": ("met", "id_token verified: signature (issuer JWKS), iss, aud, exp, nonce; alg none/HMAC refused",
            f"{ID}test_bad_id_tokens_are_rejected, {ID}test_valid_id_token_is_accepted"),
    "202": ("partial", "fhirUser is resolved (absolute or relative) to type+id and drives who-is-using; the resource itself is read only by features that need the user's details (questionnaire prefill)",
            f"{ID}test_fhir_user_absolute_or_relative_sets_who_is_using_the_app"),
    "211": ("met", "auth_time/max_age are never sent (exact authorize parameter set)", f"{A}test_ehr_launch_sends_exact_authorize_parameters"),
    "215": ("n/a", "online_access is not requested; offline_access is (row 216). The sandbox's online_access path is covered by others' end-to-end tests", ""),
    "216": ("met", "offline_access in the default scopes; refresh does not depend on it being echoed", f"{CF}test_shipped_default_scopes_are_valid_smart_v2_and_minimal, {RF}test_refresh_before_expiry_then_page_uses_the_new_token"),
    "218": ("met", "JWKS found via {issuer}/.well-known/openid-configuration, refetched once on key rotation", f"{ID}test_issuer_keys_are_found_through_openid_configuration, {ID}test_jwks_is_refetched_once_when_the_issuer_rotates_keys"),
    "219": ("n/a", "the app never needs URI representations of scopes", ""),
    "220": ("n/a", "as row 219", ""),
    "270": ("n/a", "the app does not call token introspection (it reads context from the token response)", ""),
    "290": ("met", "RS384 and ES384 key pairs generated (or loaded) with cryptography via joserfc", f"{CA}test_client_private_keys_are_generated_once_and_private"),
    "291": ("met", "public keys registered by URL (launch.json jwks_uri)", f"{CA}test_jwks_endpoint_serves_only_public_keys"),
    "292": ("n/a", "SHOULD for servers (dynamic registration)", ""),
    "293": ("met", "public JWKS only", f"{CA}test_jwks_endpoint_serves_only_public_keys"),
    "294": ("met", "JWK Set document", f"{CA}test_jwks_endpoint_serves_only_public_keys"),
    "295": ("met", "private keys in 0600 files in the instance folder, or (several instances) the deployment's configured key files/environment, never served; a published-ahead key is public only", f"{CA}test_client_private_keys_are_generated_once_and_private, {CA}test_jwks_endpoint_serves_only_public_keys, tests/launch/test_shared_client_keys.py::test_a_key_published_ahead_is_in_the_jwks_but_signs_nothing_until_switched"),
    "298": ("met", "URL method (jwks_uri)", f"{CF}test_shipped_launch_json_is_valid_and_lists_both_sandboxes"),
    "299": ("met", "SHOULD: URL method", ""),
    "300": ("n/a", "MAY: not used", ""),
    "301": ("partial", "TLS is the deployment's job (README: serve behind TLS); the dev default is http://localhost", ""),
    "302": ("met", "served without authentication", f"{CA}test_jwks_endpoint_serves_only_public_keys"),
    "303": ("met", "Cache-Control: public, max-age=300", f"{CA}test_jwks_endpoint_serves_only_public_keys"),
    "304": ("n/a", "MAY: not used", ""),
    "307": ("met", "JWS via joserfc", f"{CA}test_private_key_jwt_on_exchange_and_refresh"),
    "308": ("met", "RS384", f"{CA}test_private_key_jwt_on_exchange_and_refresh"),
    "309": ("met", "ES384", f"{CA}test_private_key_jwt_on_exchange_and_refresh"),
    "312": ("n/a", "MAY", ""),
    "313": ("met", "kty and kid on every JWK", f"{CA}test_jwks_endpoint_serves_only_public_keys"),
    "314": ("met", "n, e", f"{CA}test_jwks_endpoint_serves_only_public_keys"),
    "315": ("met", "crv, x, y", f"{CA}test_jwks_endpoint_serves_only_public_keys"),
    "317": ("met", "assigned client_id as iss/sub", f"{CA}test_private_key_jwt_on_exchange_and_refresh"),
    "318": ("met", "as row 1: token endpoints must be https (loopback http only for the local sandbox)", f"{A}test_insecure_endpoint_for_remote_host_is_refused"),
    "319": ("met", "fresh assertion per request", f"{CA}test_private_key_jwt_on_exchange_and_refresh"),
    "320": ("met", "RS384/ES384 signature", f"{CA}test_private_key_jwt_on_exchange_and_refresh"),
    "321": ("met", "alg header", f"{CA}test_private_key_jwt_on_exchange_and_refresh"),
    "322": ("met", "kid header (RFC 7638 thumbprint)", f"{CA}test_private_key_jwt_on_exchange_and_refresh"),
    "323": ("met", "typ=JWT", f"{CA}test_private_key_jwt_on_exchange_and_refresh"),
    "324": ("met", "MAY: jku = registered jwks_uri", f"{CA}test_private_key_jwt_on_exchange_and_refresh"),
    "325": ("met", "jku equals the registered jwks_uri", f"{CA}test_private_key_jwt_on_exchange_and_refresh"),
    "327": ("met", "iss = client_id", f"{CA}test_private_key_jwt_on_exchange_and_refresh"),
    "328": ("met", "sub = client_id", f"{CA}test_private_key_jwt_on_exchange_and_refresh"),
    "329": ("met", "aud = token endpoint", f"{CA}test_private_key_jwt_on_exchange_and_refresh"),
    "330": ("met", "exp integer", f"{CA}test_private_key_jwt_on_exchange_and_refresh"),
    "331": ("met", "exp = now + 240 s (<= 5 min)", f"{CA}test_private_key_jwt_on_exchange_and_refresh"),
    "332": ("met", "unique jti", f"{CA}test_private_key_jwt_on_exchange_and_refresh"),
    "333": ("met", "client_assertion_type", f"{CA}test_private_key_jwt_on_exchange_and_refresh"),
    "334": ("met", "client_assertion", f"{CA}test_private_key_jwt_on_exchange_and_refresh"),
    "343": ("met", "MAY: symmetric auth available", f"{CA}test_client_secret_basic_on_exchange_and_refresh"),
    "345": ("met", "HTTP Basic per RFC 6749 §2.3.1: client_id and secret each form-urlencoded (UTF-8), joined by `:`, then base64; checked with a secret holding `:`, `+`, `%`, space and €", f"{CA}test_client_secret_basic_on_exchange_and_refresh"),
    "375": ("met", "MAY: the app sends Accept: application/json anyway", ""),
    "379": ("met", "relative endpoint URLs resolved against the FHIR base", f"{A}test_relative_endpoints_in_smart_configuration_are_resolved, {A}test_discovery_falls_back_to_capability_statement"),
}


def main(csv_path: str) -> None:
    """Write docs/conformance.md."""
    rows = list(csv.DictReader(open(csv_path, encoding="utf-8-sig")))
    out = [
        "# SMART App Launch 2.2 client conformance",
        "",
        "Every row of `smart-client-stu2.2-requirements.csv` (164 client requirements). *Status*:",
        "**met** (with the test that proves it), **partial** (what is and isn't done), or **n/a** (why it does not apply).",
        "Run the proofs with `.venv/bin/python -m pytest tests/launch -q`. Generated by `docs/make_conformance.py`.",
        "",
        "Deliberate choice: plain `http` is accepted only for loopback hosts (`localhost`, `127.0.0.1`, `::1`), so the",
        "offline sandbox works; every other EHR must be `https` (rows 1, 318).",
        "",
        "The threat model behind these rows (assets, trust boundaries, every control and the test that proves it,",
        "including controls beyond the IG: pinned discovery, RFC 9207 mix-up defence, revocation on end, session",
        "rotation, EHR I/O budgets) is in [security.md](security.md).",
        "",
        "| ID | Level | Requirement (short) | Status | How / why | Test |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        rid = row["ID"]
        section = row["URL"].split("STU2.2/", 1)[-1]
        if rid in MAP:
            status, how, test = MAP[rid]
        elif section.startswith("backend-services"):
            status, how, test = "n/a", BACKEND, ""
        elif section.startswith("brands"):
            status, how, test = "n/a", BRANDS, ""
        else:
            status, how, test = "TODO", "", ""
        text = " ".join(row["Requirement"].split())
        text = (text[:140] + "…") if len(text) > 140 else text
        text = text.replace("|", "\\|")
        link = f"[{rid}]({row['URL']})"
        tests = "<br>".join(f"`{t.strip()}`" for t in test.split(",") if t.strip())
        out.append(f"| {link} | {row['Conformance']} | {text} | {status} | {how} | {tests} |")
    Path(__file__).with_name("conformance.md").write_text("\n".join(out) + "\n", encoding="utf-8")
    missing = [r["ID"] for r in rows if r["ID"] not in MAP and not r["URL"].split("STU2.2/", 1)[-1].startswith(("backend-services", "brands"))]
    if missing:
        print("rows without a mapping:", ", ".join(missing), file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/specs/smart-client-stu2.2-requirements.csv")
