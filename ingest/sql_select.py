"""The select list of a statement's final SELECT, item by item: what SQL maps onto the target's
columns by position.

openlineage-sql names an output column after its alias, or the column it references, and an
expression without either `_0`, `_1`, … (a counter over the whole query, not a position). To map
by position, `select_list` reads the items of the top-level SELECT (every branch of a top-level
UNION / INTERSECT / EXCEPT) from sqlparse's token tree, and `positional_query` gives each item the
alias `lkg__p<position>`, so the parser's lineage says which position each input column reaches.

Anything not followed (`*`, a parenthesised top-level SELECT, branches of different width, several
statements, brackets that do not balance, TOP) gives None: then nothing is mapped by position. An
implicit alias misread as part of an expression (`x IS NULL flag`) makes the rewritten query fail
to parse, which the caller treats the same way.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import sqlparse
from sqlparse import sql
from sqlparse import tokens as T
from sqlparse.exceptions import SQLParseError
from sqlparse.utils import remove_quotes

POSITION_ALIAS = "lkg__p"
POSITION = re.compile(rf"^{POSITION_ALIAS}(\d+)$", re.IGNORECASE)

# keywords after which the select list ends
_END_OF_LIST = {
    "FROM", "WHERE", "GROUP", "HAVING", "ORDER", "LIMIT", "WINDOW", "QUALIFY", "INTO", "UNION",
    "INTERSECT", "EXCEPT", "MINUS", "OFFSET", "FETCH",
}  # fmt: skip
_SET_OPERATORS = {"UNION", "INTERSECT", "EXCEPT", "MINUS"}
_NAMES = (T.Name, T.Name.Builtin, T.String.Symbol)  # not T.Name.Placeholder: `$1`, `:p`
# keywords that look like a column reference but are values
_VALUES = {
    "NULL", "TRUE", "FALSE", "CURRENT_DATE", "CURRENT_TIME", "CURRENT_TIMESTAMP", "LOCALTIME",
    "LOCALTIMESTAMP", "CURRENT_USER", "SESSION_USER",
}  # fmt: skip


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


def _significant(tok: sql.Token) -> bool:
    return not (tok.is_whitespace or isinstance(tok, sql.Comment) or tok.ttype in T.Comment)


def _word(tok: sql.Token) -> str:
    """A keyword's first word (`UNION ALL`: UNION), else ''."""
    return tok.normalized.split()[0] if tok.is_keyword else ""


def _leaves(nodes: Sequence[sql.Token]) -> list[sql.Token]:
    return [leaf for node in nodes for leaf in node.flatten() if _significant(leaf)]


def _name(leaf: sql.Token) -> str:
    """An identifier as the SQL means it: quotes removed."""
    text = leaf.value
    return text[1:-1].replace(text[0] * 2, text[0]) if text[:1] in '"`' else text


def _reference(nodes: Sequence[sql.Token]) -> str | None:
    """The column `a`, `t.a`, `"s"."t"."a"` or a keyword-named `date` refers to
    (`NULL`, `current_date`: none)."""
    leaves = _leaves(nodes)
    if len(nodes) != 1 or len(leaves) % 2 == 0 or leaves[-1].value.upper() in _VALUES:
        return None
    if not isinstance(nodes[0], sql.Identifier) and len(leaves) != 1:
        return None
    names, dots = leaves[::2], leaves[1::2]
    if all(n.is_keyword or n.ttype in _NAMES for n in names) and all(
        dot.match(T.Punctuation, ".") for dot in dots
    ):
        return _name(leaves[-1])
    return None


def _split(nodes: Sequence[sql.Token]) -> list[list[sql.Token]]:
    """The significant nodes between top-level commas (IdentifierLists opened up)."""
    parts: list[list[sql.Token]] = [[]]
    for node in nodes:
        if isinstance(node, sql.IdentifierList):
            first, *rest = _split(node.tokens)
            parts[-1] += first
            parts += rest
        elif node.match(T.Punctuation, ","):
            parts.append([])
        elif _significant(node):
            parts[-1].append(node)
    return parts


def _item(nodes: list[sql.Token], at: dict[int, int]) -> Item | None:
    """None for a `*` item (its width is unknown), an empty one, or one not followed."""
    leaves = _leaves(nodes)
    if not leaves or leaves[-1].ttype is T.Wildcard:
        return None
    start, stop = at[id(leaves[0])], at[id(leaves[-1])] + len(leaves[-1].value)
    if (name := _reference(nodes)) is not None:
        return Item(start, stop, stop, name)
    last = nodes[-1]
    if len(leaves) > 2 and leaves[-2].match(T.Keyword, "AS") and (name := _reference(leaves[-1:])):
        end = leaves[-3]  # `… AS alias`
    elif isinstance(last, sql.Identifier) and last.get_alias() == remove_quotes(leaves[-1].value):
        name, end = _name(leaves[-1]), leaves[-2]  # `f(x) alias`, `t.a alias`: sqlparse's grouping
    elif len(nodes) > 1 and (name := _reference([last])):
        end = _leaves(nodes[-2:-1])[-1]  # `date '2020-01-01' d`: an alias sqlparse left apart
        word = len(nodes) == 2 and end.is_keyword and end.normalized != "NOT"  # `type t`, `NULL n`
        if (end.is_keyword and not word) or end.ttype in T.Operator:  # `-a`, `a COLLATE "C"`
            return Item(start, stop, stop, None)
    else:
        return Item(start, stop, stop, None)
    return Item(start, at[id(end)] + len(end.value), stop, name)


def _insert_columns(prefix: Sequence[sql.Token]) -> list[str | None] | None:
    """INSERT INTO t (a, b): the list (a PARTITION spec is none), None where not a name."""
    for before, leaf in itertools.pairwise(_leaves(prefix)):
        if leaf.match(T.Punctuation, "(") and not before.match(T.Keyword, "PARTITION"):
            return [_reference(part) for part in _split(leaf.parent.tokens[1:-1])]
    return None


def _branch(toks: list[sql.Token], at: dict[int, int]) -> tuple[Item, ...] | None:
    while toks and toks[0].match(T.Keyword, ("DISTINCT", "ALL")):
        toks = toks[1:]
    if not toks or _leaves(toks[:1])[0].value.upper() == "TOP":
        return None
    end = next(
        (i for i, t in enumerate(toks) if _word(t) in _END_OF_LIST or isinstance(t, sql.Where)),
        len(toks),
    )
    items = [_item(part, at) for part in _split(toks[:end])]
    return None if None in items else tuple(item for item in items if item)


@functools.lru_cache(maxsize=256)  # a job sends its SQL with every event; the answer is frozen
def select_list(query: str) -> SelectList | None:
    """The top-level select list of one INSERT … SELECT, CREATE TABLE … AS SELECT or SELECT."""
    try:
        statements = sqlparse.parse(query)
    except SQLParseError:  # nesting deeper than Python's recursion limit
        return None
    real = [n for n, s in enumerate(statements) if any(map(_significant, s.flatten()))]
    kind = statements[real[0]].get_type().split()[0].lower() if len(real) == 1 else ""
    if kind not in set(Statement):
        return None
    stmt, at, offset = statements[real[0]], {}, len("".join(map(str, statements[: real[0]])))
    for leaf in stmt.flatten():
        at[id(leaf)] = offset
        offset += len(leaf.value)
        if leaf.match(T.Punctuation, ("(", ")")) and not isinstance(leaf.parent, sql.Parenthesis):
            return None  # brackets that do not balance
    leaves = _leaves([stmt])
    for distinct, on, bracket in zip(leaves, leaves[1:], leaves[2:], strict=False):
        if [t.normalized for t in (distinct, on, bracket)] == ["DISTINCT", "ON", "("]:
            # DISTINCT ON (…) changes no item: read the query without it, at the same offsets
            begin, end = at[id(on)], at[id(bracket)] + len(bracket.parent.value)
            return select_list(f"{query[:begin]}{' ' * (end - begin)}{query[end:]}")
    toks = [t for t in stmt.tokens if _significant(t) and not t.match(T.Punctuation, ";")]
    selects = [i for i, t in enumerate(toks) if t.match(T.DML, "SELECT")]
    # the INSERT's own tokens run from its keyword to its query: a CTE may come before the
    # keyword (`WITH t AS (…) INSERT INTO out (a, b) SELECT …`) or after the column list
    insert_at = next((i for i, t in enumerate(toks) if t.match(T.DML, "INSERT")), 0)
    query_at = next(
        (i for i, t in enumerate(toks) if i > insert_at and (t.ttype is T.CTE or i in selects)),
        len(toks),
    )
    columns = _insert_columns(toks[insert_at:query_at]) if kind == Statement.INSERT else None
    if columns is not None and not all(columns):
        return None  # a column list of expressions
    branches = []
    for n, (i, stop) in enumerate(itertools.pairwise([*selects, len(toks)])):
        previous = next(
            (_word(t) for t in reversed(toks[:i]) if _word(t) not in ("ALL", "DISTINCT")), ""
        )
        if (previous in _SET_OPERATORS) != (n > 0):
            return None  # a top-level SELECT that is not a set operation's branch
        if (branch := _branch(toks[i + 1 : stop], at)) is None:
            return None
        branches.append(branch)
    if not branches or len({len(b) for b in branches}) != 1:
        return None
    names = None if columns is None else tuple(c for c in columns if c)
    return SelectList(Statement(kind), names, tuple(branches))


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
