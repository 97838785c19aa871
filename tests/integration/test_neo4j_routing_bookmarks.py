"""Neo4j through a routing URI (issue 21 §3): reads go in READ-access sessions and writes in
WRITE-access ones; one bookmark manager carries every write of the store to every later read, on
any thread (read-your-writes when a cluster routes the read to a follower); a read that loses
its server is tried once more on a fresh session, and only once.

On the tests' single instance every server is up to date, so read-your-writes is checked where it
is decided: the bookmark a write commits is the one the next read on another thread sends.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterator
from typing import Any

import pytest
from neo4j import GraphDatabase, Session
from neo4j.api import BookmarkManager
from neo4j.exceptions import ClientError, Neo4jError, SessionExpired

from lineage_kg.graph.model import NodeKey, NodeKind
from lineage_kg.graph.mutations import MutationBatch, Provenance
from lineage_kg.graph.neo4j_store import Neo4jStore
from lineage_kg.graph.store import StoreUnavailable

pytestmark = pytest.mark.neo4j

JOB = NodeKey.of(NodeKind.JOB, namespace="routing", name="written-then-read")


def one_job() -> MutationBatch:
    batch = MutationBatch()
    batch.node(JOB, Provenance("openlineage", "e-routing", "2024-05-01T10:00:00Z"))
    return batch


class RecordingBookmarks(BookmarkManager):
    """The driver's own bookmark manager, noting which thread took and gave which bookmarks."""

    def __init__(self) -> None:
        self._inner = GraphDatabase.bookmark_manager()
        self._lock = threading.Lock()
        self.taken: list[tuple[str, frozenset[str]]] = []
        self.given: list[tuple[str, frozenset[str]]] = []

    def get_bookmarks(self) -> Collection[str]:
        bookmarks = self._inner.get_bookmarks()
        with self._lock:
            self.taken.append((threading.current_thread().name, frozenset(bookmarks)))
        return bookmarks

    def update_bookmarks(
        self, previous_bookmarks: Collection[str], new_bookmarks: Collection[str]
    ) -> None:
        self._inner.update_bookmarks(previous_bookmarks, new_bookmarks)
        with self._lock:
            self.given.append((threading.current_thread().name, frozenset(new_bookmarks)))


def routed(uri: str) -> str:
    scheme, sep, rest = uri.partition("://")
    return "neo4j" + scheme.removeprefix("bolt").removeprefix("neo4j") + sep + rest


@pytest.fixture
def open_routed(neo4j_server) -> Iterator[Callable[..., Neo4jStore]]:  # type: ignore[no-untyped-def]
    opened: list[Neo4jStore] = []

    def open_(**kwargs: Any) -> Neo4jStore:
        store = Neo4jStore(
            routed(neo4j_server.uri),
            user=neo4j_server.user,
            password=neo4j_server.password,
            **kwargs,
        )
        opened.append(store)
        store.clear()
        return store

    yield open_
    for store in opened:
        store.close()


def in_thread(name: str, work: Callable[[], Any]) -> Any:
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(work()), name=name)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive() and len(out) == 1, f"{name} did not finish"
    return out[0]


def test_a_read_on_another_thread_carries_the_bookmark_of_the_write(open_routed) -> None:  # type: ignore[no-untyped-def]
    bookmarks = RecordingBookmarks()
    store = open_routed(bookmark_manager=bookmarks)
    # the reader's session is opened (and kept) before the write, as the service's are
    before = threading.Event()
    written = threading.Event()
    seen: list[bool] = []

    def read_before_and_after() -> None:
        seen.append(store.get_node(JOB.id) is not None)
        before.set()
        assert written.wait(60)
        seen.append(store.get_node(JOB.id) is not None)

    thread = threading.Thread(target=read_before_and_after, name="reader")
    thread.start()
    assert before.wait(60)
    in_thread("writer", lambda: store.apply(one_job(), checkpoint=1))
    taken_before_write = len(bookmarks.taken)
    written.set()
    thread.join(timeout=60)
    assert not thread.is_alive()

    assert seen == [False, True]
    (committed,) = [new for name, new in bookmarks.given if name == "writer"]
    assert committed, "the write's commit gave the manager no bookmark"
    after_write = [got for name, got in bookmarks.taken[taken_before_write:] if name == "reader"]
    assert after_write, "the reader's kept session did not ask the manager for bookmarks"
    assert committed <= after_write[0]  # the read waited for (at least) the write


def test_reads_are_read_access_and_writes_write_access(open_routed) -> None:  # type: ignore[no-untyped-def]
    store = open_routed()
    store.apply(one_job())  # a write session: accepted
    with pytest.raises(ClientError) as refused:
        store._read("CREATE (p:RoutingProbe) RETURN p")  # a write down the read path
    assert refused.value.code == "Neo.ClientError.Statement.AccessMode"
    assert store.get_node(JOB.id) is not None


class _Failing:
    """A session whose next runs raise the given errors, then answer as the real one."""

    def __init__(self, session: Session, errors: list[BaseException]) -> None:
        self._session, self._errors = session, errors

    def run(self, *args: Any, **kwargs: Any) -> Any:
        if self._errors:
            raise self._errors.pop(0)
        return self._session.run(*args, **kwargs)

    def close(self) -> None:
        self._session.close()


def _failing_reads(
    store: Neo4jStore, monkeypatch: pytest.MonkeyPatch, errors: list[BaseException]
) -> list[_Failing]:
    """Each read session the store opens from now on raises the next of `errors` at its run."""
    real_open = store._open_session
    opened: list[_Failing] = []

    def open_(access: str) -> Any:
        failing = _Failing(real_open(access), errors[:1] if errors else [])
        del errors[:1]
        opened.append(failing)
        return failing

    store._drop_session()  # the thread's kept session, if any: the next read opens one
    monkeypatch.setattr(store, "_open_session", open_)
    return opened


def test_a_read_whose_server_went_away_is_tried_once_more(open_routed, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    store = open_routed()
    store.apply(one_job())
    opened = _failing_reads(store, monkeypatch, [SessionExpired("the follower left")])
    assert store.get_node(JOB.id) is not None
    assert len(opened) == 2  # the one that failed, dropped, and a fresh one


def test_the_second_try_is_the_last(open_routed, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    store = open_routed()
    errors: list[BaseException] = [SessionExpired("gone"), SessionExpired("gone again")]
    opened = _failing_reads(store, monkeypatch, errors)
    with pytest.raises(StoreUnavailable, match="gone again"):
        store.get_node(JOB.id)
    assert len(opened) == 2


@pytest.mark.parametrize(
    ("code", "raised"),
    [
        # a timed-out read would take as long again: unavailable at once
        ("Neo.ClientError.Transaction.TransactionTimedOutClientConfiguration", StoreUnavailable),
        # the statement's own fault: the driver's error, untouched
        ("Neo.ClientError.Statement.SyntaxError", Neo4jError),
    ],
)
def test_other_failures_are_not_tried_again(
    open_routed,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
    code: str,
    raised: type[BaseException],
) -> None:
    store = open_routed()
    error = Neo4jError._hydrate_neo4j(code=code, message="refused")
    opened = _failing_reads(store, monkeypatch, [error])
    with pytest.raises(raised):
        store.get_node(JOB.id)
    assert len(opened) == 1


# counts a million million numbers: it does not end by itself, so only the kill ends it,
# however slow the killer is on a loaded machine (300 million took 17.9 s at load 8: a killer
# slower than that, or than the store's 30 s query timeout, failed the test). If the kill
# missed, the store's query timeout (_HANG here) ends it, and the test fails on the message
_SLOW_READ = "UNWIND range(1, 1000000000000) AS x WITH x WHERE x < 0 RETURN count(*) AS n"
_HANG = 240.0  # seconds: a bound on a hang, not a speed requirement


def _kill_the_slow_read(uri: str, auth: tuple[str, str], done: threading.Event) -> None:
    """As an operator would: find the connection running the slow read and kill it."""
    with GraphDatabase.driver(uri, auth=auth) as admin:
        while not done.wait(0.05):
            rows = admin.execute_query(
                "SHOW TRANSACTIONS YIELD connectionId, currentQuery "
                "WHERE currentQuery STARTS WITH 'UNWIND range(1, 1000000000000)' "
                "RETURN connectionId"
            ).records
            for row in rows:
                admin.execute_query("CALL dbms.killConnection($id)", id=row["connectionId"])
            if rows:
                return


def test_a_read_killed_from_outside_is_unavailable_not_a_fault(open_routed, neo4j_server) -> None:  # type: ignore[no-untyped-def]
    """A real fault: the server stops the read's transaction (Terminated), which says nothing
    about the statement: unavailable (a 503), not the driver's error (a 500)."""
    store = open_routed(query_timeout=_HANG)
    done = threading.Event()
    killer = threading.Thread(
        target=_kill_the_slow_read,
        args=(neo4j_server.uri, (neo4j_server.user, neo4j_server.password), done),
    )
    killer.start()
    try:
        with pytest.raises(StoreUnavailable, match="Terminated"):
            store._read(_SLOW_READ)
    finally:
        done.set()
        killer.join(timeout=_HANG)
    assert store.get_node(JOB.id) is None  # and the next read works
