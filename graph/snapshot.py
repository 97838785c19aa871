"""The snapshot file: a store's state written whole, read back only when it is intact.

Layout (format 2; format 1, before the adjacency was kept in the state, is refused by name and
the store rebuilt from the log):

    LKG-SNAPSHOT\\n                       magic
    {"format": 1, "seq": ..., ...}\\n      header: one line of JSON (`SnapshotHeader`)
    <pickle, protocol 5>                  the payload: the state (`EmbeddedStore.export_state`)
    <8 bytes: payload length, big-endian><32 bytes: SHA-256 of header line + payload>
    LKG-END\\n                            the trailer

The file knows nothing of the event log: `seq` and `log_hash` (where the state stands in the log
and that entry's chain hash) are carried for the caller, who decides whether the snapshot still
follows its log (service/snapshots.py). What this module guarantees: a snapshot is written whole
or not at all (a temporary file, fsync, rename, fsync of the folder — a crash mid-write leaves
the previous one), and reading one that is truncated, altered, or of another format raises
`SnapshotInvalid` saying why, before a byte of its payload is unpickled. The payload is then
unpickled with only the classes a store's state is made of (`ALLOWED`): a stray or planted file
cannot run code through pickle's imports. Whoever may write the data folder may still swap in
another valid snapshot, just as they may swap the log; the caller's check against the log's
chain is what catches that.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from lineage_kg.graph.gc_pause import no_cyclic_gc

FORMAT = 2
MAGIC = b"LKG-SNAPSHOT\n"
END = b"LKG-END\n"
_TRAILER = 8 + 32 + len(END)
_MAX_HEADER = 64 * 1024
_CHUNK = 1 << 20
# a draft this old was left by a writer killed mid-write (a live one renames it in seconds)
STALE_DRAFT_SECONDS = 3600.0

# (module prefix, names): what the payload may be built of. Plain containers and scalars and
# our own graph vocabulary (the store's state is lists of plain tuples); nothing that can call
# or import.
ALLOWED: dict[str, frozenset[str] | None] = {
    "builtins": frozenset(
        {"dict", "list", "set", "frozenset", "tuple", "str", "bytes", "int", "float", "bool"}
    ),
    "collections": frozenset({"OrderedDict", "defaultdict", "Counter", "deque"}),
    "copyreg": frozenset({"_reconstructor"}),
    "lineage_kg.graph.embedded": None,
    "lineage_kg.graph.model": None,
    "lineage_kg.graph.records": None,
}


class SnapshotInvalid(Exception):
    """The file cannot be used; the message says why (truncated, checksum, format, …)."""


@dataclass(frozen=True, slots=True)
class SnapshotHeader:
    format: int
    seq: int  # the last log entry the state includes
    log_hash: str  # that entry's chain hash, as the log had it when the state was taken
    writer: str  # the version of lineage-kg that wrote it
    written_at: str  # canonical UTC time


def write_snapshot(path: Path, state: Any, header: SnapshotHeader) -> int:
    """Write `state` under `header` to `path` atomically; the bytes written. The previous file
    at `path`, if any, stays in place until the new one is complete and on disk."""
    line = json.dumps(asdict(header), sort_keys=True).encode() + b"\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_drafts(path)
    fd, draft = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as raw:
            out = _Hashing(raw)
            raw.write(MAGIC)
            out.write(line)
            counted = out.written
            pickle.dump(state, out, protocol=5)
            payload = out.written - counted
            raw.write(payload.to_bytes(8, "big") + out.digest.digest() + END)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(draft, path)
    except BaseException:
        Path(draft).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path.stat().st_size


def _remove_stale_drafts(path: Path) -> None:
    cutoff = time.time() - STALE_DRAFT_SECONDS
    for draft in path.parent.glob(f".{path.name}.*.tmp"):
        try:
            if draft.stat().st_mtime < cutoff:
                draft.unlink()
        except OSError:  # gone meanwhile, or not ours to remove: harmless either way
            pass


def read_header(path: Path) -> SnapshotHeader:
    """The header alone (cheap: no payload read). FileNotFoundError when there is no file;
    SnapshotInvalid when it is not a snapshot of this format."""
    with path.open("rb") as file:
        header, _ = _header(file)
    return header


def read_snapshot(path: Path) -> tuple[SnapshotHeader, Any]:
    """The header and the state. The whole file is checked against its checksum before the
    payload is unpickled; SnapshotInvalid says what is wrong."""
    with path.open("rb") as file:
        header, line = _header(file)
        start = file.tell()
        size = os.fstat(file.fileno()).st_size
        if size < start + _TRAILER:
            raise SnapshotInvalid(f"truncated: {size:,} bytes, shorter than its own trailer")
        file.seek(size - _TRAILER)
        trailer = file.read(_TRAILER)
        if trailer[-len(END) :] != END:
            raise SnapshotInvalid("truncated or overwritten: the end marker is missing")
        payload, digest = int.from_bytes(trailer[:8], "big"), trailer[8:40]
        if start + payload + _TRAILER != size:
            raise SnapshotInvalid(
                f"truncated or padded: {size:,} bytes where its trailer says "
                f"{start + payload + _TRAILER:,}"
            )
        check = hashlib.sha256(line)
        file.seek(start)
        left = payload
        while left:
            chunk = file.read(min(_CHUNK, left))
            if not chunk:
                raise SnapshotInvalid("truncated while reading the payload")
            check.update(chunk)
            left -= len(chunk)
        if check.digest() != digest:
            raise SnapshotInvalid("checksum mismatch: the file was altered or damaged")
        file.seek(start)
        try:
            with no_cyclic_gc():
                state = _Restricted(io.BufferedReader(_Bounded(file, payload))).load()
        except SnapshotInvalid:
            raise
        except Exception as exc:  # a sound checksum over a payload this build cannot read
            raise SnapshotInvalid(f"payload unreadable: {type(exc).__name__}: {exc}") from exc
    return header, state


def _header(file: IO[bytes]) -> tuple[SnapshotHeader, bytes]:
    if file.read(len(MAGIC)) != MAGIC:
        raise SnapshotInvalid("not a lineage-kg snapshot (no magic at the start)")
    line = file.readline(_MAX_HEADER)
    if not line.endswith(b"\n"):
        raise SnapshotInvalid("truncated or damaged header")
    try:
        fields = json.loads(line)
        found = fields.get("format")
    except (ValueError, AttributeError):
        raise SnapshotInvalid("damaged header (not JSON)") from None
    if found != FORMAT:
        raise SnapshotInvalid(f"format {found!r}, this build reads format {FORMAT}")
    try:
        header = SnapshotHeader(**fields)
    except TypeError as exc:
        raise SnapshotInvalid(f"damaged header: {exc}") from None
    if not isinstance(header.seq, int) or header.seq < 0 or not isinstance(header.log_hash, str):
        raise SnapshotInvalid("damaged header: seq or log_hash of the wrong type")
    return header, line


class _Hashing:
    """A writer that hashes what it passes on (pickle writes through it)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw, self.digest, self.written = raw, hashlib.sha256(), 0

    def write(self, data: bytes | memoryview) -> int:
        self.digest.update(data)
        self.written += len(data)
        return self.raw.write(data)


class _Bounded(io.RawIOBase):
    """The payload's bytes only: the unpickler cannot read on into the trailer."""

    def __init__(self, file: IO[bytes], length: int) -> None:
        self.file, self.left = file, length

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer)[: self.left]
        got = self.file.readinto(view)  # type: ignore[attr-defined]
        self.left -= got
        return got


class _Restricted(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        allowed = ALLOWED.get(module, frozenset())
        if "." not in name and (allowed is None or name in allowed):
            found = super().find_class(module, name)
            if allowed is not None or isinstance(found, type):  # a module's classes, no more
                return found
        raise SnapshotInvalid(f"payload names {module}.{name}, which a store's state never holds")


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (where the platform lets a folder be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
