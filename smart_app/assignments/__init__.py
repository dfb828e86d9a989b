"""Assigned forms: SDC Tasks the care team created for the patient, and the visit they belong to."""
