"""The web edge: what every response goes through (static assets, headers)."""
