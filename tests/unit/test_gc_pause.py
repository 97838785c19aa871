"""`no_cyclic_gc`: the collector is off inside every block under way, in any thread, and back as
it was once the last one ended, whatever the blocks raised."""

from __future__ import annotations

import gc
import random
import threading
import weakref
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress

import pytest

from lineage_kg.graph.gc_pause import no_cyclic_gc


@contextmanager
def _collector(enabled: bool) -> Iterator[None]:
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        yield
    finally:
        (gc.enable if was else gc.disable)()


@pytest.mark.parametrize("enabled", [True, False])
def test_off_inside_and_as_it_was_after(enabled: bool) -> None:
    with _collector(enabled):
        with no_cyclic_gc():
            assert not gc.isenabled()
            with no_cyclic_gc():
                assert not gc.isenabled()
            assert not gc.isenabled()
        assert gc.isenabled() is enabled


@pytest.mark.parametrize("enabled", [True, False])
def test_undone_when_the_block_raises(enabled: bool) -> None:
    with _collector(enabled):
        with pytest.raises(KeyError), no_cyclic_gc(), no_cyclic_gc():
            raise KeyError("x")
        assert gc.isenabled() is enabled
        with pytest.raises(KeyboardInterrupt), no_cyclic_gc():
            raise KeyboardInterrupt
        assert gc.isenabled() is enabled


class _Block:
    """A thread inside one block until told to leave; what the collector was just after."""

    def __init__(self, after: threading.Event | None = None) -> None:
        self.inside, self.leave = threading.Event(), threading.Event()
        self.after = after
        self.enabled_after: bool | None = None
        self.thread = threading.Thread(target=self._run)
        self.thread.start()

    def _run(self) -> None:
        if self.after is not None:
            self.after.wait(5)
        with no_cyclic_gc():
            self.inside.set()
            self.leave.wait(5)
        self.enabled_after = gc.isenabled()

    def end(self) -> None:
        self.leave.set()
        self.thread.join(5)


@pytest.mark.parametrize("a_ends_first", [True, False])
def test_blocks_of_two_threads_overlapping(a_ends_first: bool) -> None:
    """A's block starts, B's starts, one ends (the other still inside: still off), the other
    ends: on. The old rule (each block reading `gc.isenabled()` for itself) turned it on under B
    when A ended first."""
    with _collector(True):
        a = _Block()
        b = _Block(after=a.inside)
        b.inside.wait(5)
        first, then = (a, b) if a_ends_first else (b, a)
        first.end()
        assert first.enabled_after is False
        assert not gc.isenabled(), "one block still under way: the collector stays off"
        then.end()
        assert then.enabled_after is True
        assert gc.isenabled()


def _blocks_at_random(seed: float, wrong: list[str]) -> None:
    r = random.Random(seed)
    for _ in range(300):
        with suppress(ValueError):
            _nested_blocks(r, wrong)


def _nested_blocks(r: random.Random, wrong: list[str]) -> None:
    """One to three blocks inside each other; one time in five a ValueError raised out of them."""
    with ExitStack() as stack:
        for _ in range(r.randint(1, 3)):
            stack.enter_context(no_cyclic_gc())
        if gc.isenabled():
            wrong.append("on inside a block")
        if r.random() < 0.2:
            raise ValueError


@pytest.mark.parametrize("enabled", [True, False])
def test_many_threads_in_any_order_leave_it_as_it_was(enabled: bool) -> None:
    """Threads entering and leaving blocks (some raising out of them) at random moments: never
    on inside a block, and as it was once all have ended."""
    rng = random.Random(29)
    with _collector(enabled):
        wrong: list[str] = []
        threads = [
            threading.Thread(target=_blocks_at_random, args=(rng.random(), wrong)) for _ in range(6)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert not wrong
        assert gc.isenabled() is enabled


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_blocks_that_keep_overlapping_still_let_it_collect(
    monkeypatch: pytest.MonkeyPatch, collections: list[int]
) -> None:
    """Blocks of two threads that always overlap never leave the collector off for good: a block
    ending once it has been off `MAX_OFF_S` runs a full collection, which frees a cycle made
    meanwhile, and the stretch starts again (the clock is the module's, moved by hand)."""
    from lineage_kg.graph import gc_pause

    clock = _Clock()
    monkeypatch.setattr(gc_pause, "_clock", clock)

    class Cycle:
        pass

    with _collector(True):
        a = _Block()
        a.inside.wait(5)
        cycle = Cycle()
        cycle.me = cycle  # type: ignore[attr-defined]
        gone = weakref.ref(cycle)
        del cycle
        for _ in range(3):  # blocks ending early in the stretch: no collection
            clock.now += gc_pause.MAX_OFF_S / 4
            with no_cyclic_gc():
                pass
            assert not gc.isenabled()
        assert gone() is not None and collections == []
        clock.now += gc_pause.MAX_OFF_S  # overdue: the next block's end collects, A still inside
        with no_cyclic_gc():
            pass
        assert collections == [2] and gone() is None
        assert not gc.isenabled()  # still off: A is inside
        with no_cyclic_gc():  # the stretch started again at that collection
            pass
        assert collections == [2]
        a.end()
        assert a.enabled_after is True and gc.isenabled()


def test_no_collection_when_the_process_had_it_off(
    monkeypatch: pytest.MonkeyPatch, collections: list[int]
) -> None:
    """A process that turned the collector off itself is never collected behind its back."""
    from lineage_kg.graph import gc_pause

    clock = _Clock()
    monkeypatch.setattr(gc_pause, "_clock", clock)
    with _collector(False):
        a = _Block()
        a.inside.wait(5)
        clock.now += 10 * gc_pause.MAX_OFF_S
        with no_cyclic_gc():
            pass
        a.end()
        assert collections == [] and not gc.isenabled()


@pytest.fixture
def collections() -> Iterator[list[int]]:
    """Each collection's generation, while the test runs (gc.callbacks is the collector's own
    list: appended to and taken out again)."""
    seen: list[int] = []

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            seen.append(info["generation"])

    gc.callbacks.append(callback)
    try:
        yield seen
    finally:
        gc.callbacks.remove(callback)
