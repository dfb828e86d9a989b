"""Tests of the sandbox FHIR server and its seed data."""
