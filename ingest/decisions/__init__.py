"""Decision logs: millions of decisions kept in a side table beside the graph (ADR 0002).

records: the validated shape of one decision; mapping: the aggregated graph edges; table: the
SQLite side table; projection: keeps the table following the event log; files: file readers.
"""
