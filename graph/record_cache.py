"""The records the graph's one writer wrote, kept so that its next batches need not read them back.

Each projector batch loads the records it touches before merging (graph/store.py `_prepare`).
On Neo4j those reads were about 14 s of a 51.6 s projection (issue 19, target 4), and the
records they return are mostly those this process wrote one or two batches before. The projector
is the graph's only writer, so what it committed is what Neo4j holds: `CachedUnitOfWork` answers
a load from the cache first and asks the store only for what the cache lacks.

Correctness never rests on timing:
- only committed records enter: a unit of work's writes are installed after its transaction
  committed (`committed`); any failure of a unit of work (a refused batch, a broken connection, a
  fence that refused) clears the whole cache (the store calls `clear`);
- a unit that deletes nodes or writes alias rows (a re-homing: rare) clears it at commit;
- a record read from the store enters only if no commit of this cache wrote that key since the
  read's unit of work began (`offer`): a read racing the writer thread's commit (the projector
  prepares batch k+1 while k commits) never puts an older record over a newer one;
- the store clears it in `clear`; the projector clears it whenever it starts or stops writing
  (a lease lost or taken again, another writer's checkpoint), and attaches it only where it is
  the graph's writer by configuration, with no lease (a standby's side tables may write between
  two of its lease checks, without moving the checkpoint the fence reads);
- records go in and come out as copies (each list too), so no caller can change what it holds;
- it holds at most `max_records` entries (nodes, edges, alias rows, and "absent" answers),
  least recently used first out.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from contextlib import AbstractContextManager, contextmanager
from itertools import islice
from typing import Any

from rbloom import Bloom

from lineage_kg.graph.records import EdgeId, Record
from lineage_kg.graph.store import IncidentSpec, UnitOfWork

_ABSENT = object()  # the store was asked and holds nothing under this key
# the key filter: sized for 4 M keys at a 2 % false "may hold" (those keys are then read): ~4 MiB;
# past 4 M keys it answers "may hold" more often, never "absent" wrongly
KEY_FILTER_KEYS, KEY_FILTER_ERROR = 4_000_000, 0.02
_RECENT = 64  # commits remembered for `offer` (a read older than that many commits is dropped)

# cache keys: a node id (str), an edge id (4-tuple), an alias row ("alias", dataset id)
Key = str | EdgeId | tuple[str, str]


def _copy(record: Record) -> Record:
    return {k: (v.copy() if type(v) is list else v) for k, v in record.items()}


def as_stored(record: Record) -> Record:
    """The record as Neo4j gives it back: `SET n = row` stores no null, a tuple comes back as a
    list."""
    return {
        k: (list(v) if type(v) in (list, tuple) else v) for k, v in record.items() if v is not None
    }


def _own(value: Any) -> Any:
    """A cached value the caller cannot change: a record copied, an alias row (str) or None."""
    return value if value is None or type(value) is str else _copy(value)


class RecordCache:
    def __init__(self, max_records: int = 100_000) -> None:
        if max_records < 1:
            raise ValueError("max_records must be at least 1")
        self.max_records = max_records
        self._lock = threading.Lock()
        self._entries: OrderedDict[Any, Any] = OrderedDict()
        self._generation = 0  # one more at every commit installed and every clear
        self._cleared_at = 0
        self._recent: deque[tuple[int, frozenset[Any]]] = deque(maxlen=_RECENT)
        self._keys: Bloom | None = None  # see `start_from_empty`
        self.hits = self.misses = self.clears = self.surely_absent = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def generation(self) -> int:
        return self._generation

    def unit(self, inner: UnitOfWork) -> CachedUnitOfWork:
        return CachedUnitOfWork(inner, self)

    def clear(self, *, keep_keys: bool = False) -> None:
        """Forget every record; and the key filter too unless `keep_keys` (a unit of work of
        this cache's that deleted nodes or wrote alias rows: every key it added is in it)."""
        with self._lock:
            self._entries.clear()
            self._recent.clear()
            self._generation += 1
            self._cleared_at = self._generation
            self.clears += 1
            if not keep_keys:
                self._keys = None

    def start_from_empty(self) -> None:
        """The store holds no node and no edge now, and every write from here goes through this
        cache (its writer has just taken over, alone): a node or edge key it has not seen
        written since is surely absent, answered without a read (a Bloom filter of the keys
        written), until `clear`."""
        with self._lock:
            self._keys = Bloom(KEY_FILTER_KEYS, KEY_FILTER_ERROR)

    @property
    def knows_every_key(self) -> bool:
        return self._keys is not None

    # ---- for CachedUnitOfWork -------------------------------------------------------------
    def lookup(self, keys: Iterable[Any]) -> tuple[dict[Any, Any], list[Any]]:
        """(key -> a copy of the record, or None where the store holds nothing; keys missing)."""
        found: dict[Any, Any] = {}
        missing: list[Any] = []
        absent = 0
        with self._lock:
            entries, known = self._entries, self._keys
            for key in keys:
                value = entries.get(key, _ABSENT)  # a stored None (absent in the store) is kept
                if value is _ABSENT:
                    if known is not None and not _is_alias(key) and key not in known:
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
        # copies outside the lock: the stored records themselves are never changed in place
        return {k: _own(v) for k, v in found.items()}, missing

    def offer(self, values: Mapping[Any, Any], asked: Iterable[Any], since: int) -> None:
        """Read from the store in a unit of work begun at generation `since`: `values` found,
        every other key of `asked` absent. Kept unless a commit wrote the key since then."""
        with self._lock:
            if since < self._cleared_at:
                return
            written: set[Any] = set()
            if since != self._generation:
                if not self._recent or self._recent[0][0] > since + 1:
                    return  # commits since then no longer all known
                for generation, keys in self._recent:
                    if generation > since:
                        written |= keys
            for key in asked:
                if key in written:
                    continue
                self._put(key, _own(values.get(key)))
            self._evict()

    def install(self, records: Mapping[Any, Record]) -> None:
        """A committed unit of work's records (what the store now holds under these keys).
        Only the last `max_records` are copied and put: the others would be evicted at once
        (a large batch writes ~125k records into a cache of 20k)."""
        keys = frozenset(records)
        kept = islice(records.items(), max(0, len(records) - self.max_records), None)
        stored = {k: as_stored(r) for k, r in kept}
        with self._lock:
            if self._keys is not None:
                self._keys.update(keys)
            self._generation += 1
            self._recent.append((self._generation, keys))
            for key, record in stored.items():
                self._put(key, record)
            self._evict()

    def _put(self, key: Any, value: Any) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)

    def _evict(self) -> None:
        while len(self._entries) > self.max_records:
            self._entries.popitem(last=False)


def _alias(name: str) -> tuple[str, str]:
    return ("alias", name)


def _is_alias(key: Any) -> bool:
    return type(key) is tuple and len(key) == 2


class CachedUnitOfWork(UnitOfWork):
    """A unit of work reading through the cache; its writes go to the cache once committed (the
    store calls `committed` after its transaction commits, `RecordCache.clear` if it fails)."""

    def __init__(self, inner: UnitOfWork, cache: RecordCache) -> None:
        self._inner, self._cache = inner, cache
        self._since = cache.generation
        self._written: dict[Any, Record] = {}
        self._resets = False  # deleted nodes or wrote alias rows: the cache is cleared at commit

    def committed(self) -> None:
        if self._resets:
            if self._written:  # the filter holds every key written, deleted ones too
                self._cache.install(self._written)
            self._cache.clear(keep_keys=True)
        elif self._written:
            self._cache.install(self._written)

    def load_nodes(self, ids: Sequence[str]) -> dict[str, Record]:
        found, missing = self._cache.lookup(ids)
        if missing:
            read = self._inner.load_nodes(missing)
            self._cache.offer(read, missing, self._since)
            found.update(read)
        return {k: v for k, v in found.items() if v is not None}

    def load_edges(self, ids: Sequence[EdgeId]) -> dict[EdgeId, Record]:
        found, missing = self._cache.lookup(ids)
        if missing:
            read = self._inner.load_edges(missing)
            self._cache.offer(read, missing, self._since)
            found.update(read)
        return {k: v for k, v in found.items() if v is not None}

    def load_incident(self, specs: Sequence[IncidentSpec]) -> dict[EdgeId, Record]:
        # every edge at an anchor: the cache cannot know it has them all, so asked each time
        # (what comes back is offered: those edges are then known), unless the anchor surely
        # does not exist (then neither does any edge at it)
        if self._cache.knows_every_key:
            anchors, _ = self._cache.lookup(dict.fromkeys(a for a, _, _ in specs))
            specs = [s for s in specs if not (s[0] in anchors and anchors[s[0]] is None)]
            if not specs:
                return {}
        read = self._inner.load_incident(specs)
        self._cache.offer(read, read.keys(), self._since)
        return read

    def load_around(self, ids: Sequence[str]) -> dict[EdgeId, Record]:
        return self._inner.load_around(ids)

    def load_aliases(self, names: Sequence[str]) -> dict[str, str]:
        found, missing = self._cache.lookup(_alias(n) for n in names)
        result = {k[1]: v for k, v in found.items() if v is not None}
        if missing:
            asked = [k[1] for k in missing]
            read = self._inner.load_aliases(asked)
            self._cache.offer({_alias(k): v for k, v in read.items()}, missing, self._since)
            result.update(read)
        return result

    def load_aliases_to(self, canonicals: Sequence[str]) -> dict[str, str]:
        return self._inner.load_aliases_to(canonicals)

    def load_nodes_and_aliases(
        self, ids: Sequence[str], names: Sequence[str]
    ) -> tuple[dict[str, Record], dict[str, str]]:
        nodes, missing_ids = self._cache.lookup(ids)
        aliases, missing_names = self._cache.lookup(_alias(n) for n in names)
        node_result = {k: v for k, v in nodes.items() if v is not None}
        alias_result = {k[1]: v for k, v in aliases.items() if v is not None}
        if missing_ids or missing_names:
            asked = [k[1] for k in missing_names]
            read_nodes, read_aliases = self._inner.load_nodes_and_aliases(missing_ids, asked)
            self._cache.offer(read_nodes, missing_ids, self._since)
            self._cache.offer(
                {_alias(k): v for k, v in read_aliases.items()}, missing_names, self._since
            )
            node_result.update(read_nodes)
            alias_result.update(read_aliases)
        return node_result, alias_result

    def delete_nodes(self, ids: Sequence[str]) -> None:
        self._resets = True
        self._inner.delete_nodes(ids)

    def write_aliases(self, rows: Mapping[str, str]) -> None:
        self._resets = True
        self._inner.write_aliases(rows)

    def write(
        self,
        nodes: dict[str, Record],
        edges: dict[EdgeId, Record],
        new_nodes: AbstractSet[str] = frozenset(),
        new_edges: AbstractSet[EdgeId] = frozenset(),
    ) -> None:
        self._inner.write(nodes, edges, new_nodes, new_edges)
        self._written.update(nodes)
        self._written.update(edges)

    def set_checkpoint(self, seq: int) -> None:
        self._inner.set_checkpoint(seq)

    def claim_checkpoint(self) -> int:
        return self._inner.claim_checkpoint()


def attach(store: object, max_records: int) -> RecordCache | None:
    """A cache of `max_records` on `store`, if the store takes one (Neo4j: its loads are round
    trips; the embedded store's are lookups in memory); None otherwise."""
    if not hasattr(store, "record_cache"):
        return None
    cache = RecordCache(max_records)
    store.record_cache = cache
    return cache


@contextmanager
def through_cache(
    cache: RecordCache | None, units: AbstractContextManager[UnitOfWork]
) -> Iterator[UnitOfWork]:
    """A store's unit of work (`units`: its transaction, committed when it exits cleanly) read
    through `cache`: its writes installed once it committed; the cache cleared if anything fails
    (a failed commit may have landed or not: what the store holds is no longer known)."""
    if cache is None:
        with units as uow:
            yield uow
        return
    try:
        with units as uow:
            unit = cache.unit(uow)
            yield unit
        unit.committed()
    except BaseException:
        cache.clear()
        raise
