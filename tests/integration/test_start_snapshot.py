"""The embedded store's start-up snapshot (service/snapshots.py, graph/snapshot.py).

The oracle for every case is a full rebuild of the same log with snapshots off, in a directory of
its own: a start from a snapshot must end in exactly that store (every node and edge record, the
alias table and index), with the same audit history rows and decisions table, having projected
only the log's tail. The logs are a generated estate (benchmarks/synthetic: OpenLineage, MLflow,
Feast, catalog and decision records) with the shared corpus's real events after it, cut at
random points by copying the template log's rows (their chain hashes unchanged).
"""

from __future__ import annotations

import json
import logging
import random
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from benchmarks.synthetic.load import load_sources
from benchmarks.synthetic.write import generate
from lineage_kg.graph import snapshot as snapshot_file
from lineage_kg.ingest.eventlog import EventLog
from lineage_kg.ingest.intake import accept_many
from lineage_kg.runtime import LOG_FILE, Runtime, snapshot_path
from lineage_kg.settings import Settings
from tests.oracle.corpus import CORPUS, airflow_events, hive_events, spark_events

NODES = 700  # the generator's smallest estates: a few hundred log entries, every source


def _build_template(out: Path, seed: int) -> Path:
    files = out / "files"
    files.mkdir(parents=True)
    generate(files, NODES, seed)
    log = EventLog(out / LOG_FILE)
    try:
        with (files / "events.ndjson").open() as lines:
            accept_many(log, enumerate(json.loads(line) for line in lines))
        load_sources(files, log)
        if CORPUS.is_dir():  # real producers' events, after the estate
            accept_many(log, enumerate([*spark_events("file"), *hive_events(), *airflow_events()]))
    finally:
        log.close()
    return out / LOG_FILE


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build_template(tmp_path_factory.mktemp("template"), 7)


def _last(log_file: Path) -> int:
    with closing(sqlite3.connect(log_file)) as db:
        return int(db.execute("SELECT max(seq) FROM events").fetchone()[0])


def copy_entries(template: Path, data_dir: Path, after: int, upto: int) -> None:
    """Entries after..upto of the template log, appended as they are (hashes and all) to the log
    in `data_dir` (created if need be): a log that reached `upto` the way the template did."""
    EventLog(data_dir / LOG_FILE).close()  # the schema
    with closing(sqlite3.connect(data_dir / LOG_FILE, isolation_level=None)) as db:
        db.execute("ATTACH ? AS t", (str(template),))
        db.execute("BEGIN")
        db.execute(
            "INSERT INTO events SELECT * FROM t.events WHERE seq > ? AND seq <= ?", (after, upto)
        )
        db.execute(
            "INSERT INTO confined SELECT * FROM t.confined WHERE seq > ? AND seq <= ?",
            (after, upto),
        )
        db.execute("COMMIT")


def settings(data_dir: Path, **changes: Any) -> Settings:
    return Settings(data_dir=data_dir, snapshot_check_seconds=0.05, **changes)


def start(data_dir: Path, **changes: Any) -> Runtime:
    runtime = Runtime.open(settings(data_dir, **changes))
    runtime.rebuild_embedded()
    return runtime


def dump(runtime: Runtime) -> dict[str, Any]:
    """Everything a question can read: the store, the history rows, the side tables."""
    store = runtime.store
    nodes = list(store.iter_nodes())
    ids = [n.id for n in nodes]
    aliases = sorted({a for n in nodes for a in (n.props.get("aliases") or ())})
    linked = store.linked_names([*ids, *(a for a in runtime.store.names_linked_to(ids))])
    with closing(sqlite3.connect(runtime.settings.data_dir / LOG_FILE)) as db:
        history = db.execute(
            "SELECT * FROM node_history ORDER BY node_id, seq, entry_type"
        ).fetchall()
        parked = db.execute("SELECT seq, error FROM parked ORDER BY seq").fetchall()
    with closing(sqlite3.connect(runtime.settings.data_dir / "decisions.sqlite3")) as db:
        decisions = db.execute(
            "SELECT decision_id, seq, event_id FROM decisions ORDER BY 1"
        ).fetchall()
        held = db.execute("SELECT decision_id, seq FROM parked_decisions ORDER BY 1").fetchall()
    return {
        "nodes": nodes,
        "edges": list(store.iter_edges()),
        "linked": linked,
        "linked_to": store.names_linked_to(ids),
        "aliased": {a: [n.id for n in store.find_aliased([a], limit=10_000)] for a in aliases},
        "checkpoint": store.checkpoint(),
        "history": history,
        "parked": parked,
        "decisions": decisions,
        "parked_decisions": held,
    }


@pytest.fixture(scope="module")
def full(template: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The oracle: the whole template log rebuilt with snapshots off."""
    data = tmp_path_factory.mktemp("full")
    copy_entries(template, data, 0, _last(template))
    with start(data, snapshot=False) as runtime:
        assert runtime.projector.events_projected > 0
        assert not snapshot_path(runtime.settings).exists()
        return dump(runtime)


def snapshot_at(template: Path, data: Path, cut: int) -> None:
    """A data dir whose log ends at `cut` and whose snapshot was written there (at close)."""
    copy_entries(template, data, 0, cut)
    with start(data, snapshot_every=1) as runtime:
        assert runtime.store.checkpoint() == cut
    header = snapshot_file.read_header(snapshot_path(settings(data)))
    assert header.seq == cut


def test_a_start_from_a_snapshot_replays_only_the_tail_and_ends_as_a_full_rebuild(
    template: Path, full: dict[str, Any], tmp_path: Path
) -> None:
    last = _last(template)
    rng = random.Random(19)
    cuts = sorted({1, last - 1, *rng.sample(range(2, last - 1), 3)})
    for cut in cuts:
        data = tmp_path / f"cut{cut}"
        snapshot_at(template, data, cut)
        copy_entries(template, data, cut, last)
        with start(data) as runtime:
            assert runtime.snapshot_seq == cut, f"cut {cut}: {runtime.snapshot_refused}"
            parked_in_tail = sum(1 for seq, _ in full["parked"] if seq > cut)
            assert runtime.projector.events_projected == last - cut - parked_in_tail, f"cut {cut}"
            assert dump(runtime) == full, f"cut at seq {cut} of {last}"


def test_side_tables_ahead_of_the_snapshot_end_as_a_full_rebuild(
    template: Path, full: dict[str, Any], tmp_path: Path
) -> None:
    """A service that ran past its last snapshot and stopped before the next one was due: the
    decisions table and the history are ahead of the snapshot; the tail is projected again."""
    last = _last(template)
    with closing(sqlite3.connect(template)) as db:
        (second,) = db.execute("SELECT max(seq) FROM events WHERE source = 'decisions'").fetchone()
    first = second // 2
    assert 0 < first < second < last, "the estate has decisions before its last entry"
    snapshot_at(template, tmp_path, first)
    copy_entries(template, tmp_path, first, second)
    with start(tmp_path, snapshot_every=10**9, snapshot_after_seconds=1e9) as runtime:
        assert runtime.snapshot_seq == first and runtime.store.checkpoint() == second
        assert runtime.decisions is not None and runtime.decisions.checkpoint() == second
    assert snapshot_file.read_header(snapshot_path(settings(tmp_path))).seq == first
    copy_entries(template, tmp_path, second, last)
    with start(tmp_path) as runtime:
        assert runtime.snapshot_seq == first
        parked_in_tail = sum(1 for seq, _ in full["parked"] if seq > first)
        assert runtime.projector.events_projected == last - first - parked_in_tail
        assert dump(runtime) == full


def test_history_behind_the_snapshot_is_filled_in(
    snapshotted: tuple[Path, int], full: dict[str, Any]
) -> None:
    """The audit trail is written on a stage of its own (ingest/history_stage.py): a snapshot
    may be taken while it lags, and a crash then leaves it behind the snapshot's position. The
    start must derive the gap, not only the tail."""
    data, cut = snapshotted
    lag = cut // 2
    with closing(sqlite3.connect(data / LOG_FILE, isolation_level=None)) as db:
        db.execute("DELETE FROM node_history WHERE seq > ?", (lag,))
        db.execute("UPDATE history_position SET seq = ?", (lag,))
        assert db.execute("SELECT seq FROM history_position").fetchone() == (lag,)
    with start(data) as runtime:
        assert runtime.snapshot_seq == cut
        assert dump(runtime) == full


def test_a_snapshot_is_rewritten_in_the_background_as_the_log_grows(
    template: Path, tmp_path: Path
) -> None:
    last = _last(template)
    cut = last // 2
    snapshot_at(template, tmp_path, cut)
    with start(tmp_path, snapshot_every=1) as runtime:
        assert runtime.snapshot_seq == cut
        runtime.projector.start()
        # more entries arrive while the service runs (copied, so the chain is the template's)
        copy_entries(template, tmp_path, cut, last)
        runtime.projector.wake()
        keeper = runtime.snapshot_keeper()
        assert keeper is not None
        _wait(lambda: keeper.last_seq == last, f"the keeper stays at {keeper.last_seq}")
        assert snapshot_file.read_header(snapshot_path(runtime.settings)).seq == last


def _wait(condition: Any, message: str, timeout: float = 120.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.05)


# ---- a snapshot that does not match is never used silently ---------------------------------------


@pytest.fixture
def snapshotted(template: Path, tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """A data dir holding the whole template log and a snapshot taken two thirds of the way."""
    last = _last(template)
    cut = 2 * last // 3
    snapshot_at(template, tmp_path, cut)
    copy_entries(template, tmp_path, cut, last)
    yield tmp_path, cut


def _refused(data: Path, full: dict[str, Any], caplog: pytest.LogCaptureFixture, why: str) -> None:
    """A start that must ignore the snapshot, say why in a warning, and rebuild everything."""
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="lineage_kg.snapshots"), start(data) as runtime:
        assert runtime.snapshot_seq is None
        assert runtime.snapshot_refused is not None and why in runtime.snapshot_refused
        warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any("not used" in m and why in m for m in warned), warned
        assert runtime.projector.events_projected == full["checkpoint"] - len(full["parked"])
        assert dump(runtime) == full


def test_a_snapshot_ahead_of_the_log_is_not_used(
    template: Path, full: dict[str, Any], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    last = _last(template)
    snapshot_at(template, tmp_path / "ahead", last)
    # the log rewound: a shorter copy put in its place, the snapshot left
    rewound = tmp_path / "ahead" / LOG_FILE
    for suffix in ("", "-wal", "-shm"):
        Path(f"{rewound}{suffix}").unlink(missing_ok=True)
    copy_entries(template, tmp_path / "ahead", 0, last - 3)
    _refused_partial(tmp_path / "ahead", caplog, "ahead of the log")


def _refused_partial(data: Path, caplog: pytest.LogCaptureFixture, why: str) -> None:
    """As `_refused`, for a log that is not the template's whole: the oracle is built here."""
    oracle = data.parent / f"{data.name}-oracle"
    with closing(sqlite3.connect(data / LOG_FILE)) as db:
        (upto,) = db.execute("SELECT max(seq) FROM events").fetchone()
    copy_entries(data / LOG_FILE, oracle, 0, upto)
    with start(oracle, snapshot=False) as runtime:
        expected = dump(runtime)
    _refused(data, expected, caplog, why)


def test_a_snapshot_of_another_log_is_not_used(
    template: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    other = _build_template(tmp_path / "other", 11)  # another estate: other entries, other hashes
    data = tmp_path / "data"
    snapshot_at(template, data, min(_last(template), _last(other)) // 2)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{data / LOG_FILE}{suffix}").unlink(missing_ok=True)
    copy_entries(other, data, 0, _last(other))  # the log replaced, snapshot left
    _refused_partial(data, caplog, "not the one it was taken from")


def test_a_log_rewritten_through_the_snapshots_seq_is_noticed(
    snapshotted: tuple[Path, int], caplog: pytest.LogCaptureFixture
) -> None:
    data, cut = snapshotted
    # entry `cut` changed and its own hash made to fit it
    with closing(sqlite3.connect(data / LOG_FILE, isolation_level=None)) as db:
        from lineage_kg.ingest import chain

        row = db.execute(
            f"SELECT {chain.HASHED}, prev_hash FROM events WHERE seq = ?", (cut,)
        ).fetchone()
        fields = (*row[:5], "2000-01-01T00:00:00.000000Z", row[6])
        db.execute(
            "UPDATE events SET received_at = ?, entry_hash = ? WHERE seq = ?",
            (fields[5], chain.entry_hash(row[7], fields), cut),
        )
    _refused_partial(data, caplog, "not the one it was taken from")


def test_a_header_naming_another_hash_is_not_used(
    snapshotted: tuple[Path, int], full: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    data, _ = snapshotted
    path = snapshot_path(settings(data))
    raw = path.read_bytes()
    header = snapshot_file.read_header(path)
    forged = raw.replace(header.log_hash.encode(), ("0" * 64).encode(), 1)
    assert forged != raw and len(forged) == len(raw)
    path.write_bytes(forged)
    _refused(data, full, caplog, "not the one it was taken from")


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        (lambda raw: raw[: len(raw) // 2], "truncated"),
        (lambda raw: raw[:-1], "truncated"),
        (lambda raw: _flip(raw, len(raw) // 2), "checksum mismatch"),
        (lambda raw: raw.replace(b'"format": 2', b'"format": 1', 1), "format 1"),
        (lambda raw: raw.replace(b"lineage-kg ", b"lineage-kg 9", 1), "written by"),
        (lambda raw: b"not a snapshot at all", "not a lineage-kg snapshot"),
        (lambda raw: b"", "not a lineage-kg snapshot"),
    ],
    ids=["half", "last-byte", "flipped", "old-format", "other-version", "garbage", "empty"],
)
def test_a_damaged_or_foreign_file_is_not_used(
    snapshotted: tuple[Path, int],
    full: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
    damage: Any,
    why: str,
) -> None:
    data, _ = snapshotted
    path = snapshot_path(settings(data))
    path.write_bytes(damage(path.read_bytes()))
    _refused(data, full, caplog, why)


def _flip(raw: bytes, at: int) -> bytes:
    return raw[:at] + bytes([raw[at] ^ 0x01]) + raw[at + 1 :]


def test_a_write_that_dies_half_way_leaves_the_previous_snapshot(
    snapshotted: tuple[Path, int], full: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    data, cut = snapshotted
    path = snapshot_path(settings(data))
    before = path.read_bytes()

    def dies_half_way(state: object, out: Any, protocol: int) -> None:
        out.write(b"\x80\x05" + b"x" * 100_000)  # some of the payload reaches the file
        raise OSError("disk gone")

    monkeypatch.setattr(snapshot_file.pickle, "dump", dies_half_way)
    with start(data, snapshot_every=1) as runtime:  # replays the tail; every write fails
        assert runtime.snapshot_seq == cut
    monkeypatch.undo()
    assert path.read_bytes() == before
    # a process killed mid-write leaves its draft behind: it is never read
    (data / f".{path.name}.crashed.tmp").write_bytes(b"LKG-SNAPSHOT\n{half a header")
    with start(data) as runtime:
        assert runtime.snapshot_seq == cut
        assert dump(runtime) == full


def test_no_snapshot_without_the_setting(template: Path, tmp_path: Path) -> None:
    copy_entries(template, tmp_path, 0, 20)
    with start(tmp_path, snapshot_every=1, snapshot=False) as runtime:
        assert runtime.snapshot_keeper() is None
    assert not snapshot_path(settings(tmp_path)).exists()


def test_the_demo_is_snapshotted_like_any_data(tmp_path: Path) -> None:
    """The demo goes through the log (`Runtime.log` appends it under LKG_DEMO), so a start from
    its snapshot ends where a full rebuild of that log ends, and appends nothing twice."""
    data, oracle = tmp_path / "demo", tmp_path / "full"
    with start(data, snapshot_every=1, demo=True) as runtime:
        logged = runtime.store.checkpoint()
        assert logged > 0 and runtime.snapshot_keeper() is not None
    assert snapshot_file.read_header(snapshot_path(settings(data))).seq == logged
    with start(data, demo=True) as runtime:
        assert runtime.snapshot_seq == logged, runtime.snapshot_refused
        assert runtime.projector.events_projected == 0  # nothing after the snapshot
        restarted = dump(runtime)
    copy_entries(data / LOG_FILE, oracle, 0, logged)
    with start(oracle, snapshot=False) as runtime:
        assert dump(runtime) == restarted


def test_a_neo4j_store_never_snapshots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lineage_kg.graph import factory
    from lineage_kg.graph.embedded import EmbeddedStore

    class Remote(EmbeddedStore):
        name = "neo4j"

    monkeypatch.setattr(factory, "open_store", lambda *a, **k: Remote())
    (tmp_path / "embedded.snapshot").write_bytes(b"would be refused loudly if it were read")
    with Runtime.open(settings(tmp_path, neo4j_uri="bolt://nowhere:7687", snapshot_every=1)) as rt:
        assert rt.rebuild_embedded() is None
        assert rt.snapshot_keeper() is None
        assert rt.snapshot_refused is None
    assert (tmp_path / "embedded.snapshot").read_bytes().startswith(b"would be")
