"""The select list of a statement's final SELECT, item by item: what SQL maps onto the target's
columns by position.

openlineage-sql names an output column after its alias, or the column it references, and an
expression without either `_0`, `_1`, … (a counter over the whole query, not a position). To map
by position, `select_list` finds the items of the top-level SELECT (every branch of a top-level
UNION / INTERSECT / EXCEPT) with a small tokenizer, and `positional_query` gives each item the
alias `lkg__p<position>`, so the parser's lineage says which position each input column reaches.

Anything this tokenizer does not follow (`*`, a parenthesised top-level SELECT, branches of
different width, several statements) gives None: then nothing is mapped by position.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

POSITION_ALIAS = "lkg__p"
POSITION = re.compile(rf"^{POSITION_ALIAS}(\d+)$", re.IGNORECASE)

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
    | (?P<comment>--[^\n]*|/\*.*?\*/)
    | (?P<string>'(?:[^']|'')*')
    | (?P<quoted>"(?:[^"]|"")*"|`(?:[^`]|``)*`)
    | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
    | (?P<number>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+)
    | (?P<op>::|\|\||<=|>=|<>|!=|.)
    """,
    re.DOTALL | re.VERBOSE,
)
_OPEN, _CLOSE = "([{", ")]}"
# words after which the select list ends
_END_OF_LIST = {
    "from", "where", "group", "having", "order", "limit", "window", "qualify", "into",
    "union", "intersect", "except", "minus", "offset", "fetch",
}  # fmt: skip
_SET_OPERATORS = {"union", "intersect", "except", "minus"}
# words that end an expression without being an alias (`x IS NULL`, `INTERVAL '1' DAY`, `CASE …
# END`) or that cannot precede an implicit alias (`a COLLATE "C"`)
_NOT_ALIAS = {
    "and", "or", "not", "is", "in", "like", "ilike", "between", "collate", "case", "when",
    "then", "else", "end", "null", "true", "false", "as", "distinct", "all", "over", "filter",
    "escape", "similar", "at", "time", "zone", "interval", "year", "month", "week", "day",
    "hour", "minute", "second", "asc", "desc", "nulls", "first", "last", "unknown",
}  # fmt: skip

# words that look like a column reference but are values
_VALUES = {
    "null", "true", "false", "current_date", "current_time", "current_timestamp", "localtime",
    "localtimestamp", "current_user", "session_user",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # a group name of _TOKEN
    text: str
    start: int
    end: int

    @property
    def word(self) -> str:
        return self.text.lower() if self.kind == "word" else ""

    @property
    def is_identifier(self) -> bool:
        return self.kind == "quoted" or (self.kind == "word" and self.word not in _NOT_ALIAS)

    @property
    def name(self) -> str:
        """An identifier as the SQL means it: quotes removed."""
        if self.kind == "quoted":
            quote = self.text[0]
            return self.text[1:-1].replace(quote * 2, quote)
        return self.text


@dataclass(frozen=True, slots=True)
class Item:
    """One select-list item: where its expression is (alias excluded), and its output name."""

    start: int
    end: int
    stop: int  # the end of the item, its alias included
    name: str | None  # the alias, or the column a bare reference names; None: an expression


class Statement(StrEnum):
    INSERT = "insert"  # columns by position, onto the column list or the table's own columns
    CREATE = "create"  # CREATE TABLE … AS SELECT: the table's columns are the select list's
    SELECT = "select"  # a bare SELECT (dbt sends a model's compiled SELECT): likewise


@dataclass(frozen=True, slots=True)
class SelectList:
    statement: Statement
    insert_columns: tuple[str, ...] | None  # INSERT INTO t (a, b) …: the list
    branches: tuple[tuple[Item, ...], ...]  # one per top-level SELECT, all of one width

    @property
    def items(self) -> tuple[Item, ...]:
        """The first branch: the one that names the output columns."""
        return self.branches[0]


def tokens(query: str) -> list[Token]:
    found = []
    for match in _TOKEN.finditer(query):
        kind = match.lastgroup or "op"
        if kind not in ("space", "comment"):
            found.append(Token(kind, match.group(), match.start(), match.end()))
    return found


def _depths(toks: list[Token]) -> list[int] | None:
    """Bracket depth before each token; None if brackets do not balance."""
    depth, depths = 0, []
    for tok in toks:
        if tok.text in _CLOSE:
            depth -= 1
        depths.append(depth)
        if tok.text in _OPEN:
            depth += 1
        if depth < 0:
            return None
    return depths if depth == 0 else None


def _split(toks: list[Token], depths: list[int], start: int, stop: int) -> list[tuple[int, int]]:
    """[start, stop) split at depth-0 commas, as (first, last + 1) token index ranges."""
    parts, first = [], start
    for i in range(start, stop):
        if depths[i] == 0 and toks[i].text == ",":
            parts.append((first, i))
            first = i + 1
    parts.append((first, stop))
    return parts


def _is_reference(item: list[Token]) -> bool:
    """`a`, `t.a`, `"s"."t"."a"`: identifiers joined by dots (`NULL`, `current_date`: not)."""
    return len(item) % 2 == 1 and all(
        (tok.kind == "quoted" or (tok.kind == "word" and tok.word not in _VALUES))
        if n % 2 == 0
        else tok.text == "."
        for n, tok in enumerate(item)
    )


def _item(item: list[Token], top: list[bool]) -> Item | None:
    """None for a `*` item (its width is unknown) or an empty one."""
    if not item or item[-1].text == "*":
        return None
    start, stop, last = item[0].start, item[-1].end, item[-1]
    if len(item) >= 3 and top[-2] and item[-2].word == "as" and last.kind in ("word", "quoted"):
        return Item(start, item[-3].end, stop, last.name)
    if _is_reference(item):
        return Item(start, stop, stop, last.name)
    before = item[-2] if len(item) >= 2 else None
    if (
        before is not None
        and top[-1]
        and last.is_identifier
        and (before.text == ")" or before.kind in ("string", "number") or before.is_identifier)
    ):
        return Item(start, before.end, stop, last.name)  # an implicit alias: `f(x) y`
    return Item(start, stop, stop, None)


def _prefix(toks: list[Token], depths: list[int]) -> tuple[Statement, tuple[str, ...] | None, int]:
    """The statement kind, an INSERT's column list, and where its query begins."""
    first = toks[0].word
    if first == "insert":
        i = 1
        while i < len(toks) and toks[i].word in ("into", "overwrite", "table"):
            i += 1
        i += 1  # the table name, possibly qualified
        while i + 1 < len(toks) and toks[i].text == "." and toks[i + 1].kind in ("word", "quoted"):
            i += 2
        columns = None
        if i < len(toks) and toks[i].text == "(" and toks[i + 1 : i + 2][0].word != "select":
            close = next(j for j in range(i + 1, len(toks)) if depths[j] == 0)
            parts = _split(toks, [d - 1 for d in depths], i + 1, close)
            if any(b - a != 1 or toks[a].kind not in ("word", "quoted") for a, b in parts):
                raise ValueError("INSERT column list of expressions")
            columns = tuple(toks[a].name for a, _ in parts)
            i = close + 1
        return Statement.INSERT, columns, i
    if first == "create":
        at = next(i for i in range(len(toks)) if depths[i] == 0 and toks[i].word == "as")
        return Statement.CREATE, None, at + 1
    return Statement.SELECT, None, 0


def select_list(query: str) -> SelectList | None:
    """The top-level select list of one INSERT … SELECT, CREATE TABLE … AS SELECT or SELECT."""
    toks = tokens(query)
    while toks and toks[-1].text == ";":
        toks.pop()
    depths = _depths(toks)
    if not toks or depths is None or any(t.text == ";" for t in toks):
        return None
    try:
        statement, columns, begin = _prefix(toks, depths)
    except (ValueError, StopIteration, IndexError):
        return None
    branches: list[tuple[Item, ...]] = []
    previous = ""
    for i in range(begin, len(toks)):
        if depths[i] != 0 or toks[i].word != "select":
            if depths[i] == 0 and toks[i].kind == "word":
                previous = toks[i].word
            continue
        if branches and previous not in _SET_OPERATORS | {"all", "distinct"}:
            return None  # a top-level SELECT that is not a set operation's branch
        if (branch := _branch(toks, depths, i + 1)) is None:
            return None
        branches.append(branch)
        previous = "select"
    if not branches or len({len(b) for b in branches}) != 1:
        return None
    return SelectList(statement, columns, tuple(branches))


def _branch(toks: list[Token], depths: list[int], i: int) -> tuple[Item, ...] | None:
    while i < len(toks) and toks[i].word in ("distinct", "all"):
        i += 1
        if toks[i : i + 2] and toks[i].word == "on" and toks[i + 1].text == "(":  # DISTINCT ON
            i += 2
            while depths[i] > 0:
                i += 1
            i += 1
    if i >= len(toks) or toks[i].word == "top":
        return None
    stop = i
    while stop < len(toks) and not (depths[stop] == 0 and toks[stop].word in _END_OF_LIST):
        stop += 1
    items = []
    for a, b in _split(toks, depths, i, stop):
        item = _item(toks[a:b], [depths[j] == 0 for j in range(a, b)])
        if item is None:
            return None
        items.append(item)
    return tuple(items)


def positional_query(query: str, select: SelectList) -> str:
    """The query with every item of every branch aliased `lkg__p<position>` (its own alias,
    if it had one, replaced): the same lineage, named by position."""
    edits = sorted(
        (item.end, item.stop, n) for branch in select.branches for n, item in enumerate(branch)
    )
    out, at = [], 0
    for end, stop, n in edits:
        out.append(f"{query[at:end]} AS {POSITION_ALIAS}{n}")
        at = stop
    out.append(query[at:])
    return "".join(out)
