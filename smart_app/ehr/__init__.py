"""The only code that talks to a FHIR server: the client, the shared HTTP session, origins, read helpers.

Nothing here imports forms, medications, delivery, web or launch (tests/test_import_graph.py).
"""
