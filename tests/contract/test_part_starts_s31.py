"""The accountability map starts its downstream walk from its assets and their parts (columns,
versions, features: queries/assets.py `WALK_PARTS`), and Neo4j reads every start's relationships
at level 1. Skipping a part whose asset is also a start would read less, but it changes the walk:
from WHOLE an asset does not walk to its parts, so a part's own edges lead where the asset's do
not (session 31, docs/bench-notes/target1-neo4j.md). Held on the embedded store (`traverse`'s
answers)."""

from __future__ import annotations

from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.model import Certainty
from lineage_kg.graph.model import EdgeKind as E
from lineage_kg.graph.model import NodeKind as K
from lineage_kg.queries.closeness import closeness
from lineage_kg.queries.impact import IMPACT_STEPS
from lineage_kg.queries.impact_steps import COVERS, WHOLE
from tests.contract.test_closeness_property import POOL, load


def test_a_part_start_leads_where_its_asset_does_not() -> None:
    """Why the map's part starts are each read at level 1 (the brief's idea of skipping a column
    whose dataset is a start does not hold): from WHOLE a dataset does not walk to its columns
    (HAS_COLUMN out is EVERY_COLUMN's alone), so a column's own FEEDS reach what its dataset
    reaches later or not at all. On the embedded store (`traverse`'s answers): from d and its
    column c1, x (fed by c1) is at distance 1, exact; from d alone it is not reached."""
    d = POOL[K.DATASET][0]
    c1, x = POOL[K.COLUMN][:2]
    job, out = POOL[K.JOB][0], POOL[K.DATASET][1]
    store = EmbeddedStore()
    load(
        store,
        [
            (d, E.HAS_COLUMN, c1, {}),
            (c1, E.FEEDS, x, {}),
            (d, E.INPUT_TO, job, {}),
            (job, E.PRODUCES, out, {}),
        ],
    )
    both = closeness(store, [d.id, c1.id], IMPACT_STEPS, start_state=WHOLE, covers=COVERS)
    alone = closeness(store, [d.id], IMPACT_STEPS, start_state=WHOLE, covers=COVERS)
    assert (both.reached[x.id].distance, both.reached[x.id].certainty) == (1, Certainty.EXACT)
    assert x.id not in alone.reached and out.id in alone.reached
