"""Side tables: what is kept beside the graph store, in the graph's vocabulary.

- `decisions`: the decisions table (ADR 0002), one row per model decision, far too many to be
  nodes; written by the decisions projection (ingest/decisions/projection.py), read by the
  decision questions (queries/decisions.py, queries/decision_trace.py).
- `history`: the audit trail's entries, derived from an event's mutations at projection time
  (ingest/projector.py) and kept in the log; read by queries/audit.py.
- `outbox`: the changes with downstream impact to tell owners of, written by the change
  projection (ingest/notifications/projection.py), delivered by service/notifications.py.

They live here, under the stores, so that ingest/ (which writes them) and queries/ (which reads
them) both import them from below: queries never import ingest.
"""
