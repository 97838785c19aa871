"""lineage-kg: the service's own top — its settings and its composition root (`runtime`).

The rooms below it (graph/, ingest/, queries/, api/, cli/) are described in docs/architecture.md.
"""
