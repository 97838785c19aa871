"""The HTTP endpoints (OpenLineage intake, decisions), sharing one body reader (body.py)."""
