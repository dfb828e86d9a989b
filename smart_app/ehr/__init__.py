"""The only code that talks to a FHIR server: the client, the shared HTTP session, origins, read helpers,
the R4 check of every write (validation.py).

Nothing here imports forms, medications, delivery, web or launch (tests/test_import_graph.py).
"""
