"""The only code that talks to a FHIR server: client, HTTP session, origins, read plans, outgoing validation."""
