"""EHR shell: chart, portal, developer page and the fault admin endpoint."""
