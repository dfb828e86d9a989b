"""The web layer: thin blueprints (home, questionnaires, medications, errors), the clinician summary,
security headers/CSRF (security), health probes (health) and reverse-proxy trust (proxy).

A view parses the request, calls one thing below it (forms, medications, delivery) and renders or
redirects. Nothing outside this package imports it except `create_app` and the CLI.
"""
