"""Thin blueprints: home and errors here; questionnaires and medications add their own."""
