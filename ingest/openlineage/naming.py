"""Dataset identity as OpenLineage names it: the rules live in graph/naming.py, below ingest, so
that lookups (graph/resolve.py) apply exactly the same ones. Re-exported for ingest's modules."""

from lineage_kg.graph.naming import (
    DEFAULT_PORTS,
    SCHEME_ALIASES,
    canonical_scheme,
    column_key,
    dataset_key,
    dataset_of,
    job_key,
    normalise_namespace,
    version_key,
)

__all__ = [
    "DEFAULT_PORTS",
    "SCHEME_ALIASES",
    "canonical_scheme",
    "column_key",
    "dataset_key",
    "dataset_of",
    "job_key",
    "normalise_namespace",
    "version_key",
]
