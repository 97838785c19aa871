"""graph/record_cache.py's `install`, which copies and puts only the records the cache keeps,
held to the install as it stood before (kept here verbatim as the oracle) over generated commits
into caches of every size, filter on and off: the same entries in the same LRU order, the same
recent commits' keys and generation, every written key in the filter, and the records given
never shared with the cache."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from lineage_kg.graph.record_cache import RecordCache, as_stored


class OldInstall(RecordCache):
    def install(self, records: Any) -> None:  # before this change, verbatim
        stored = {k: as_stored(r) for k, r in records.items()}
        with self._lock:
            if self._keys is not None:
                for key in stored:
                    self._keys.add(key)
            self._generation += 1
            self._recent.append((self._generation, frozenset(stored)))
            for key, record in stored.items():
                self._put(key, record)
            self._evict()


_keys = st.one_of(
    st.text("abcde", min_size=1, max_size=3),
    st.tuples(*[st.text("abc", max_size=2)] * 4),
)
_records = st.dictionaries(
    st.sampled_from(["kind", "sources", "x", "n"]),
    st.one_of(st.none(), st.integers(0, 3), st.lists(st.text("ab", max_size=2), max_size=2)),
    max_size=4,
)
_commits = st.lists(st.dictionaries(_keys, _records, max_size=12), min_size=1, max_size=5)


@given(commits=_commits, size=st.integers(1, 15), start_empty=st.booleans(), reads=_commits)
@settings(max_examples=200, deadline=None)  # 400 took 13 s of CI in ci81 (session 34)
def test_install_leaves_what_the_old_install_left(
    commits: list[dict[Any, Any]], size: int, start_empty: bool, reads: list[dict[Any, Any]]
) -> None:
    old, new = OldInstall(size), RecordCache(size)
    for cache in (old, new):
        if start_empty:
            cache.start_from_empty()
    given_lists = set()
    for i, commit in enumerate(commits):
        read = reads[i % len(reads)]
        given_lists |= {id(v) for r in commit.values() for v in r.values() if type(v) is list}
        for cache in (old, new):  # some entries read before each commit
            cache.offer(read, list(read), cache.generation)
            cache.install(commit)
        assert list(new._entries.items()) == list(old._entries.items())
        assert list(new._recent) == list(old._recent)
        assert new.generation == old.generation
    for commit in commits:
        for key in commit:
            assert (key in new._keys) if start_empty else new._keys is None  # type: ignore[operator]
    for held in new._entries.values():  # copies: no list given is held
        assert not {id(v) for v in (held or {}).values() if type(v) is list} & given_lists


def test_a_commit_larger_than_the_cache_keeps_its_last_records() -> None:
    cache = RecordCache(3)
    cache.start_from_empty()
    cache.install({"old": {"x": 1}})
    cache.install({f"k{i}": {"x": i, "n": None} for i in range(10)})
    assert list(cache._entries.items()) == [(f"k{i}", {"x": i}) for i in (7, 8, 9)]
    assert all(f"k{i}" in cache._keys for i in range(10))  # type: ignore[operator]
    assert cache._recent[-1][1] == frozenset(f"k{i}" for i in range(10))
