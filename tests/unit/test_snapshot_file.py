"""graph/snapshot.py, the snapshot file on its own: written whole, read back only when intact,
and unpickled with only the classes a store's state is made of."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import random
import time
from dataclasses import asdict
from pathlib import Path

import pytest

from lineage_kg.graph import snapshot
from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.snapshot import SnapshotHeader, SnapshotInvalid, read_snapshot
from lineage_kg.ingest.demo import demo_batch

HEADER = SnapshotHeader(snapshot.FORMAT, 7, "ab" * 32, "tests", "2026-12-05T00:00:00Z")


def _store() -> EmbeddedStore:
    store = EmbeddedStore()
    store.apply(demo_batch(), checkpoint=7)
    return store


def test_a_state_round_trips_into_an_equal_store(tmp_path: Path) -> None:
    store = _store()
    path = tmp_path / "s"
    size = snapshot.write_snapshot(path, store.export_state(), HEADER)
    assert size == path.stat().st_size
    header, state = read_snapshot(path)
    assert header == HEADER == snapshot.read_header(path)
    back = EmbeddedStore.from_state(state)
    assert list(back.iter_nodes()) == list(store.iter_nodes())
    assert list(back.iter_edges()) == list(store.iter_edges())
    assert back.checkpoint() == 7
    assert [p.name for p in tmp_path.iterdir()] == ["s"]  # no draft left behind


def test_every_single_byte_changed_or_cut_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s"
    snapshot.write_snapshot(path, _store().export_state(), HEADER)
    good = path.read_bytes()
    rng = random.Random(5)
    for at in rng.sample(range(len(good)), 60):
        path.write_bytes(good[:at] + bytes([good[at] ^ (1 << rng.randrange(8))]) + good[at + 1 :])
        with pytest.raises(SnapshotInvalid):
            read_snapshot(path)
    for cut in rng.sample(range(len(good)), 20):
        path.write_bytes(good[:cut])
        with pytest.raises(SnapshotInvalid):
            read_snapshot(path)


def _forged(path: Path, payload: bytes, header: SnapshotHeader = HEADER) -> None:
    """A file with a sound layout and checksum around `payload`: what a planted file looks like."""
    line = json.dumps(asdict(header), sort_keys=True).encode() + b"\n"
    digest = hashlib.sha256(line + payload).digest()
    trailer = len(payload).to_bytes(8, "big") + digest + snapshot.END
    path.write_bytes(snapshot.MAGIC + line + payload + trailer)


class _Runs:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("echo planted > planted.txt",))


def test_a_planted_pickle_with_a_sound_checksum_runs_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "s"
    _forged(path, pickle.dumps(_Runs(), protocol=5))
    with pytest.raises(SnapshotInvalid, match="system"):
        read_snapshot(path)
    assert not (tmp_path / "planted.txt").exists()
    # reaching a function through an allowed module's attributes is refused too
    for module, name in [("lineage_kg.graph.embedded", "nx.write_edgelist"), ("builtins", "eval")]:
        payload = (
            b"\x80\x05\x8c" + bytes([len(module)]) + module.encode()
            + b"\x8c" + bytes([len(name)]) + name.encode() + b"\x93."
        )  # fmt: skip
        _forged(path, payload)
        with pytest.raises(SnapshotInvalid):
            read_snapshot(path)


def test_a_sound_file_of_a_state_that_is_not_ours_is_refused_not_raised(tmp_path: Path) -> None:
    path = tmp_path / "s"
    _forged(path, b"\x80\x05K\x07")  # an int, and no STOP: the unpickler runs out of bytes
    with pytest.raises(SnapshotInvalid, match="unreadable"):
        read_snapshot(path)


def test_a_failed_write_keeps_the_previous_file_and_leaves_no_draft(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s"
    snapshot.write_snapshot(path, _store().export_state(), HEADER)
    before = path.read_bytes()

    def fails(*_: object, **__: object) -> None:
        raise OSError("no space left on device")

    monkeypatch.setattr(snapshot.os, "replace", fails)
    with pytest.raises(OSError, match="no space"):
        snapshot.write_snapshot(path, {"other": "state"}, HEADER)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["s"]


_CHILD = """
import pathlib, sys, time
from lineage_kg.graph import snapshot

class Slow:  # pickled after a megabyte is in the draft: the process is killed there
    def __reduce__(self):
        time.sleep(120)
        return (int, (0,))

header = snapshot.SnapshotHeader(snapshot.FORMAT, 9, "cd" * 32, "child", "now")
snapshot.write_snapshot(pathlib.Path(sys.argv[1]), [b"x" * 2_000_000, Slow()], header)
"""


def test_a_process_killed_mid_write_leaves_the_previous_snapshot(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    path = tmp_path / "s"
    snapshot.write_snapshot(path, _store().export_state(), HEADER)
    before = path.read_bytes()
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(path)])
    try:
        deadline = time.monotonic() + 240  # a hang: the child's start (imports) is slow loaded
        while not any(p.stat().st_size > 2_000_000 for p in tmp_path.glob(".s.*.tmp")):
            assert child.poll() is None, "the writer ended before it was killed"
            assert time.monotonic() < deadline, "the draft never grew"
            time.sleep(0.02)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert path.read_bytes() == before
    header, state = read_snapshot(path)
    assert header == HEADER and EmbeddedStore.from_state(state).checkpoint() == 7


def test_drafts_left_by_killed_writers_are_removed_once_stale(tmp_path: Path) -> None:
    path = tmp_path / "s"
    stale, fresh = tmp_path / ".s.dead.tmp", tmp_path / ".s.live.tmp"
    for draft in (stale, fresh):
        draft.write_bytes(b"LKG-SNAPSHOT\n{half")
    old = time.time() - snapshot.STALE_DRAFT_SECONDS - 60
    os.utime(stale, (old, old))
    snapshot.write_snapshot(path, _store().export_state(), HEADER)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".s.live.tmp", "s"]
