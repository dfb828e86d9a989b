"""The sandbox's FHIR R4 server: SQLite storage, search, scopes, bundles and the HTTP API.

Mounting it (the sandbox app factory does this)::

    store = FhirStore(db_path)
    seed(store, reset=True)                       # sandbox.seed
    app.config["SANDBOX_OAUTH_URIS"] = {"authorize": ..., "token": ...}
    app.register_blueprint(create_fhir_blueprint(store, resolve_grant, faults))

Modules: store (versioned SQLite), search (pure search semantics), scopes (SMART scope
parsing and compartment rules), validate (R4 structure by fhirclient's strict models: 400; business rules: 422), interactions (read/search/write with
access checks), bundles (transaction/batch), capability (/metadata), outcome (errors), api (HTTP).
"""
