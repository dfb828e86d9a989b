"""The sandbox's FHIR R4 server: SQLite storage, search, scopes, bundles and the HTTP API."""
