"""Session 30's two lookups on the projector's thread, held to the code before (kept verbatim here
as the oracle):

- `RecordCache.lookup` asks its dict once per key and copies records inline: over generated
  sequences of installs, offers (absent answers among them), clears and lookups, with the key
  filter on and off, the same answers (found records equal, never the cache's own objects),
  the same missing keys in order, the same counters and the same LRU order after every lookup;
- `Neo4jUnitOfWork.load_edges` groups ids by the kind's string: over generated edge ids, the
  same statements in the same order with the same rows.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from lineage_kg.graph import record_cache as rc
from lineage_kg.graph.model import EdgeKind
from lineage_kg.graph.neo4j_cypher import chunks
from lineage_kg.graph.neo4j_unit_of_work import _LOAD_EDGES, Neo4jUnitOfWork
from lineage_kg.graph.record_cache import RecordCache


# ---- the code before (session 29), verbatim ---------------------------------------------------
def old_lookup(self: RecordCache, keys: Any) -> tuple[dict[Any, Any], list[Any]]:
    found: dict[Any, Any] = {}
    missing: list[Any] = []
    absent = 0
    with self._lock:
        entries, known = self._entries, self._keys
        for key in keys:
            value = entries.get(key, None if key in entries else rc._ABSENT)
            if value is rc._ABSENT:
                if known is not None and not rc._is_alias(key) and key not in known:
                    found[key] = None  # never written since the store was empty
                    absent += 1
                else:
                    missing.append(key)
                continue
            entries.move_to_end(key)
            found[key] = value
        self.hits += len(found) - absent
        self.surely_absent += absent
        self.misses += len(missing)
    return {k: rc._own(v) for k, v in found.items()}, missing


def old_load_edges(tx: Any, ids: Any) -> None:
    by_kind: dict[EdgeKind, list[dict[str, str]]] = defaultdict(list)
    for src, kind, dst, disc in ids:
        by_kind[EdgeKind(kind)].append({"src": src, "dst": dst, "disc": disc})
    for kind, rows in by_kind.items():
        for chunk in chunks(rows):
            list(tx.run(_LOAD_EDGES[kind], rows=chunk))


# ---- generated work ----------------------------------------------------------------------------
node_keys = st.sampled_from(["n1", "n2", "n3", "n4"])
edge_keys = st.tuples(node_keys, st.sampled_from(["FEEDS", "HAS_COLUMN"]), node_keys, st.just(""))
alias_keys = st.builds(lambda n: ("alias", n), node_keys)
keys = st.one_of(node_keys, edge_keys, alias_keys)
records = st.fixed_dictionaries(
    {"kind": st.just("Dataset")}, optional={"tags": st.lists(st.text(max_size=2), max_size=2)}
)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("install"), st.dictionaries(st.one_of(node_keys, edge_keys), records)),
        st.tuples(
            st.just("offer"),
            st.dictionaries(keys, st.one_of(records, st.just("canon"))),
            st.lists(keys, max_size=4),
        ),
        st.tuples(st.just("lookup"), st.lists(keys, max_size=6)),
        st.tuples(st.just("clear")),
    ),
    max_size=12,
)


def _cache(filtered: bool, size: int) -> RecordCache:
    cache = RecordCache(size)
    if filtered:
        cache.start_from_empty()
    return cache


@settings(max_examples=300, deadline=None)
@given(work=steps, filtered=st.booleans(), size=st.integers(1, 6))
def test_lookup_answers_as_before(work: list[Any], filtered: bool, size: int) -> None:
    new, old = _cache(filtered, size), _cache(filtered, size)
    for step in work:
        if step[0] == "install":
            new.install(step[1])
            old.install(step[1])
        elif step[0] == "offer":
            values, asked = step[1], [*step[1], *step[2]]
            new.offer(values, asked, new.generation)
            old.offer(values, asked, old.generation)
        elif step[0] == "clear":
            new.clear()
            old.clear()
        else:
            got = new.lookup(step[1])
            expected = old_lookup(old, step[1])
            assert got == expected
            for key, value in got[0].items():
                assert value is None or type(value) is str or value is not new._entries.get(key)
        assert list(new._entries.items()) == list(old._entries.items())
        assert (new.hits, new.misses, new.surely_absent) == (
            old.hits,
            old.misses,
            old.surely_absent,
        )


class _Recording:
    def __init__(self) -> None:
        self.sent: list[tuple[str, Any]] = []

    def run(self, query: str, **params: Any) -> list[Any]:
        self.sent.append((query, params))
        return []


@settings(max_examples=200, deadline=None)
@given(
    ids=st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c"]),
            st.sampled_from([k.value for k in EdgeKind]),
            st.sampled_from(["a", "b", "c"]),
            st.sampled_from(["", "sql"]),
        ),
        max_size=30,
    )
)
def test_load_edges_sends_what_it_sent(ids: list[tuple[str, str, str, str]]) -> None:
    new, old = _Recording(), _Recording()
    Neo4jUnitOfWork(new).load_edges(ids)  # type: ignore[arg-type]
    old_load_edges(old, ids)
    assert new.sent == old.sent


def test_load_edges_in_chunks_as_before() -> None:
    ids = [(f"s{i}", "FEEDS", f"d{i}", "") for i in range(12_001)] + [("x", "OWNS", "y", "")]
    new, old = _Recording(), _Recording()
    Neo4jUnitOfWork(new).load_edges(ids)  # type: ignore[arg-type]
    old_load_edges(old, ids)
    assert new.sent == old.sent
    assert len(new.sent) > 2
