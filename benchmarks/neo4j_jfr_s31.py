"""Where a Neo4j server's CPU went, from a Java Flight Recording (session 31, target 4).

    python -m benchmarks.neo4j_jfr_s31 /tmp/h84/jfr/load2.jfr [--top 40] [--thread BoltWorker]

`benchmarks.projector_batches --jfr DIR` records one per load (jcmd JFR.start/stop around the
timed load, the `profile` settings). This reads its `jdk.ExecutionSample` events (`jfr print`,
parsed line by line: a 100k load's samples with full stacks are hundreds of MB as JSON) and
prints: the samples by thread; the methods by self samples; the methods by inclusive samples
(each counted once a sample); and each sample put in the first of a list of phases (below) one
of its frames names, so the phases add up to the samples. Method samples cover Java code only:
the collector's and the JIT's own CPU are the server's threads by name
(`projector_batches`' `server_threads_s`, from /proc).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

# first match wins, in this order: a commit's parts, then a statement's, then what is left
PHASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("fulltext (Lucene)", ("org.apache.lucene", "fulltext", "Fulltext")),
    ("commit: tx log append", ("TransactionAppender", "TransactionLogWriter")),
    ("commit: apply to store", ("RecordStorageEngine.apply",)),
    ("commit: tx state to commands", ("RecordStorageEngine.createCommands", "extractCommands")),
    ("commit: other", ("KernelTransactionImplementation.commit",)),
    ("cypher: parse/plan", ("QueryCache.compile", "CypherPlanner", "getOrCompile", "processQuery")),
    ("write: unique check", ("validateNoExistingNodeWithExactValues",)),
    ("read: index seek", ("IndexSeek", "indexSeek", "NativeIndexReader", "GBPTree")),
    ("write: props to tx state", ("setProperties", "ApplyChanges", "SetProperty", "setProperty")),
    ("write: create", ("nodeCreate", "relationshipCreate")),
    ("write: merge/lock", ("Merge", "acquire")),
    ("bolt: unpack", ("PackStream", "packstream", "Unpack", "unpack", "Decoder", "decode")),
    ("bolt: result", ("StreamingStateTransition",)),
    ("cypher: runtime", ("org.neo4j.cypher",)),
    ("kernel", ("org.neo4j.kernel", "org.neo4j.internal")),
)

_FRAME = re.compile(r"^\s+(\S+?)\((.*)\)\s+line:")


def samples(recording: Path) -> Iterator[tuple[str, list[str]]]:
    """(thread, frames top first) per execution sample."""
    jfr = shutil.which("jfr") or "jfr"
    with subprocess.Popen(
        [jfr, "print", "--events", "jdk.ExecutionSample", "--stack-depth", "256", str(recording)],
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        thread, frames, in_stack = "", [], False
        for line in proc.stdout:
            if line.startswith("jdk.ExecutionSample"):
                thread, frames, in_stack = "", [], False
            elif "sampledThread = " in line:
                name = line.split("sampledThread = ", 1)[1].strip().strip('"')
                thread = name.split(" (")[0].split('"')[0].rstrip("0123456789#- ")
            elif "stackTrace = [" in line:
                in_stack = True
            elif in_stack and line.strip() == "]":
                in_stack = False
            elif in_stack and (m := _FRAME.match(line)):
                frames.append(m.group(1))
            elif line.startswith("}"):
                yield thread, frames


def phase(frames: list[str]) -> str:
    for name, marks in PHASES:
        if any(mark in frame for frame in frames for mark in marks):
            return name
    return "other"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("recording", type=Path)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--thread", default="", help="only threads whose name holds this")
    parser.add_argument("--out", type=Path, help="the figures as JSON")
    args = parser.parse_args()
    threads: Counter[str] = Counter()
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    phases: Counter[str] = Counter()
    n = 0
    for thread, frames in samples(args.recording):
        threads[thread] += 1
        if args.thread not in thread or not frames:
            continue
        n += 1
        own[frames[0]] += 1
        inclusive.update(set(frames))
        phases[phase(frames)] += 1

    def share(c: Counter[str], k: int) -> list[tuple[str, int, float]]:
        return [(key, v, round(100 * v / max(n, 1), 1)) for key, v in c.most_common(k)]

    print(f"{n} samples ({args.thread or 'all threads'})")
    print("by thread:", threads.most_common(12))
    print("\nphases (first match):")
    for key, v, pc in share(phases, 30):
        print(f"  {pc:5.1f}%  {v:6d}  {key}")
    print("\nself:")
    for key, v, pc in share(own, args.top):
        print(f"  {pc:5.1f}%  {v:6d}  {key}")
    print("\ninclusive:")
    for key, v, pc in share(inclusive, args.top * 2):
        print(f"  {pc:5.1f}%  {v:6d}  {key}")
    if args.out is not None:
        args.out.write_text(
            json.dumps(
                {
                    "samples": n,
                    "threads": dict(threads),
                    "phases": dict(phases),
                    "self": dict(own.most_common(200)),
                    "inclusive": dict(inclusive.most_common(400)),
                },
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
