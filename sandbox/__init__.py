"""The strict offline SMART sandbox: an EHR with a FHIR R4 API, an authorization server and faults."""
from .app import create_sandbox_app
from .serve import ServerHandle, serve_in_thread

__all__ = ["create_sandbox_app", "serve_in_thread", "ServerHandle"]
