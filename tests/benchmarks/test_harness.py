"""What the benchmarks share (benchmarks/harness.py): the same-answers check names where two
answers first differ, the interleaved rounds call every contender as said and refuse a different
answer, and a baseline is read from git as it was. No timing is asserted."""

from __future__ import annotations

import copy
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks.harness import check_same, first_difference, in_turn, module_at, timed_rounds

ROOT = Path(__file__).resolve().parents[2]

leaves = st.one_of(st.integers(-5, 5), st.text("ab", max_size=2), st.none())
answers = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(st.text("xyz", min_size=1, max_size=2), inner, max_size=4),
    ),
    max_leaves=20,
)


def leaf_paths(x: Any, at: str = "answer") -> list[tuple[str, list[Any]]]:
    """Every leaf of `x` (a value, or an empty list, tuple or dict) as (its path, written as the
    harness writes it; the keys to it)."""
    if isinstance(x, dict):
        items: Any = ((f"[{k!r}]", k, v) for k, v in x.items())
    elif isinstance(x, list | tuple):
        items = ((f"[{i}]", i, v) for i, v in enumerate(x))
    else:
        return [(at, [])]
    found = []
    for step, key, value in items:
        found += [(p, [key, *keys]) for p, keys in leaf_paths(value, at + step)]
    return found or [(at, [])]  # an empty one is a leaf too


def changed(x: Any, keys: list[Any]) -> Any:
    """`x` with the leaf at `keys` replaced by a value no leaf has."""
    if not keys:
        return ["changed"]
    y = list(x) if isinstance(x, tuple) else copy.copy(x)
    y[keys[0]] = changed(x[keys[0]], keys[1:])
    return tuple(y) if isinstance(x, tuple) else y


@given(answers)
def test_the_same_answer_has_no_difference(answer: Any) -> None:
    assert first_difference(answer, copy.deepcopy(answer)) is None
    check_same("contender", answer, copy.deepcopy(answer))


@given(answers, st.data())
def test_a_changed_leaf_is_named_where_it_is(answer: Any, data: st.DataObject) -> None:
    path, keys = data.draw(st.sampled_from(leaf_paths(answer)))
    where = first_difference(changed(answer, keys), answer)
    assert where is not None and where.startswith(path + ":"), (where, path)
    with pytest.raises(AssertionError, match=r"^contender: a different answer, first at "):
        check_same("contender", changed(answer, keys), answer)


@dataclass(frozen=True)
class Item:
    node: str
    distance: int


def test_records_sets_and_lengths_are_told_apart() -> None:
    got = {"items": [Item("a", 1), Item("b", 3)], "owners": {"x", "y"}}
    want = {"items": [Item("a", 1), Item("b", 2)], "owners": {"x", "y"}}
    assert first_difference(got, want) == "answer['items'][1].distance: 3 != 2"
    assert first_difference({"o": {"x", "z"}}, {"o": {"x", "y"}}) == (
        "answer['o']: 1 not expected ['z'], 1 missing ['y']"
    )
    assert first_difference([1, 2, 3], [1, 2]) == "answer: 3 items, expected 2"
    assert first_difference({"k": 1}, {}) == "answer['k']: not expected (got 1)"
    assert first_difference({}, {"k": 1}) == "answer['k']: missing (expected 1)"
    assert first_difference([1], (1,)) == "answer: [1] != (1,)"


def test_rounds_are_interleaved_and_checked() -> None:
    calls: list[str] = []

    def contender(name: str, answer: Any) -> Any:
        return lambda: calls.append(name) or answer

    figures, answer = timed_rounds(
        {"a": contender("a", [1]), "b": contender("b", [1]), "c": contender("c", [1])},
        rounds=3,
        same=tuple,
        cpu=True,
    )
    # one warm-up each, then three rounds in turn, each round starting one further on
    assert calls == list("abcabcbcacab")
    assert answer == [1]
    for name in "abc":
        assert len(figures[name]["runs_s"]) == 3 and len(figures[name]["cpu"]["runs_s"]) == 3
        assert figures[name]["min_s"] <= figures[name]["median_s"] <= figures[name]["max_s"]
    assert len(figures["load_average"]) == 2


@given(st.lists(st.text(), min_size=1, max_size=6, unique=True), st.integers(0, 50))
def test_each_round_starts_one_further_on_and_keeps_everyone(names: list[str], r: int) -> None:
    contenders = {name: i for i, name in enumerate(names)}
    order = in_turn(contenders, r)
    assert sorted(order) == sorted(contenders.items())
    assert order[0] == (names[r % len(names)], r % len(names))
    # the cyclic order is kept: each is followed by the next given, the last by the first
    follows = {a: b for (a, _), (b, _) in zip(order, order[1:] + order[:1], strict=True)}
    assert follows == {a: b for a, b in zip(names, names[1:] + names[:1], strict=True)}


def test_a_different_answer_stops_the_rounds_naming_its_contender() -> None:
    answers = iter([[1], [2]])  # b answers alike at its warm-up, not in round 1
    with pytest.raises(AssertionError, match=r"^b: a different answer, first at answer\[0\]: 2"):
        timed_rounds({"a": lambda: [1], "b": lambda: next(answers)}, rounds=2)
    with pytest.raises(AssertionError, match=r"^b: a different answer"):
        timed_rounds({"a": lambda: 1, "b": lambda: 2}, rounds=1)


def git(repo: Path, *args: str) -> str:
    command = ["git", "-C", str(repo), *args]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()


def test_a_baseline_is_the_file_as_git_holds_it(tmp_path: Path) -> None:
    # a repository of its own: the test needs no history of this one (CI may clone shallow)
    repo = tmp_path / "repo"
    (repo / "pkg").mkdir(parents=True)
    git(repo, "init", "-q")
    source = repo / "pkg" / "walk.py"
    source.write_text("def answer() -> str:\n    return 'before'\n\n\nLEVELS = 5\n")
    git(repo, "add", ".")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "before")
    commit = git(repo, "rev-parse", "HEAD")
    source.write_text("def answer() -> str:\n    return 'after'\n")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "after")

    loaded = module_at(commit, "pkg/walk.py", repo)
    assert loaded.__name__ == f"benchmarks._at_{commit[:12]}_walk"
    assert (loaded.answer(), loaded.LEVELS) == ("before", 5)  # as the commit held it
    assert loaded.answer.__code__.co_filename == f"pkg/walk.py@{commit}"
    assert module_at(commit, "pkg/walk.py", repo) is loaded  # read once
    with pytest.raises(RuntimeError, match=r"no/such\.py at \w+ could not be read from git"):
        module_at(commit, "no/such.py", repo)
