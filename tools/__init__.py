"""Development tools, not shipped in the wheel: the local Neo4j launcher (neo4j_server.py)."""
