"""SMART App Launch 2.2 client: discovery, authorize, callback, token, refresh, id_token, sessions."""
