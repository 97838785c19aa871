"""Feast: a feature repo's registry (entities, views, on-demand views, services) into the graph.

read.py reads the registry (`feast registry-dump`) and feature_store.yaml, sync.py turns them
into SourceRecords (source "feast"), mapping.py maps each record to graph mutations.
"""
