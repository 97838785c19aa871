"""Bounds on one GraphQL document, checked before anything runs: depth, aliases, cost and the
size of the document once every fragment is spread.

One walk measures all four. A fragment is measured once and its measure reused wherever it is
spread (a chain of fragments each spreading the next twice doubles the expanded size per level,
while the text grows by a line): the check costs time linear in the text, and a document whose
expansion is too big is refused before graphql-core's executor would expand it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)

from lineage_kg.api.graphql.cost import MAX_COST, TRAVERSAL_COST, multiplier

MAX_DEPTH = 12  # nesting of fields below the top level (introspection's `__` fields excepted)
MAX_ALIASES = 15  # aliased fields, each spread of a fragment counted again: fan-out
MAX_EXPANDED_FIELDS = 5_000  # fields once fragments are spread: what the executor would walk


@dataclass(frozen=True, slots=True)
class Shape:
    """A selection set measured with its fragments spread. `cost` is for one resolution of the
    set: a set resolved n times costs n * cost (cost is linear in how often it runs)."""

    depth: int = 0  # levels of fields (a leaf is 1); introspection fields count 0
    aliases: int = 0
    cost: int = 0
    size: int = 0  # fields

    def __add__(self, other: Shape) -> Shape:
        return Shape(
            max(self.depth, other.depth),
            self.aliases + other.aliases,
            self.cost + other.cost,
            self.size + other.size,
        )


class _Measure:
    """Shapes of selection sets in one document; each fragment's shape computed once."""

    def __init__(self, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self._fragments = fragments
        self._done: dict[tuple[str, bool], Shape] = {}
        self._open: set[tuple[str, bool]] = set()

    def of(self, selection: SelectionSetNode | None, *, top: bool) -> Shape:
        shape = Shape()
        if selection is None:
            return shape
        for item in selection.selections:
            if isinstance(item, FieldNode):
                shape += self._field(item, top=top)
            elif isinstance(item, InlineFragmentNode):
                shape += self.of(item.selection_set, top=top)
            elif isinstance(item, FragmentSpreadNode):
                shape += self._fragment(item.name.value, top=top)
        return shape

    def _field(self, field: FieldNode, *, top: bool) -> Shape:
        below = self.of(field.selection_set, top=False)
        own = 1 + (TRAVERSAL_COST.get(field.name.value, 0) if top else 0)
        introspection = field.name.value.startswith("__")
        return Shape(
            depth=0 if introspection else 1 + below.depth,
            aliases=below.aliases + (1 if field.alias else 0),
            cost=own + multiplier(field) * below.cost,
            size=1 + below.size,
        )

    def _fragment(self, name: str, *, top: bool) -> Shape:
        key = (name, top)
        if key in self._done:
            return self._done[key]
        if key in self._open or name not in self._fragments:
            return Shape()  # cycles and unknown fragments are other rules' errors
        self._open.add(key)
        shape = self.of(self._fragments[name].selection_set, top=top)
        self._open.discard(key)
        self._done[key] = shape
        return shape


def _problems(shape: Shape) -> list[str]:
    problems = []
    if shape.size > MAX_EXPANDED_FIELDS:
        problems.append(
            f"expands to {shape.size:,} fields once its fragments are spread "
            f"(limit {MAX_EXPANDED_FIELDS:,}): spread fewer fragments"
        )
    if shape.depth - 1 > MAX_DEPTH:
        problems.append(f"exceeds maximum operation depth of {MAX_DEPTH}")
    if shape.aliases > MAX_ALIASES:
        problems.append(f"has {shape.aliases:,} aliases found (limit {MAX_ALIASES}): ask fewer")
    if shape.cost > MAX_COST:
        problems.append(
            f"would cost about {shape.cost:,} (limit {MAX_COST:,}): ask for smaller "
            "pages (first/limit) or fewer fields"
        )
    return problems


class DocumentLimits(ValidationRule):
    """Refuse an operation over any of the bounds, naming the bound and the measure."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        fragments = {
            d.name.value: d
            for d in context.document.definitions
            if isinstance(d, FragmentDefinitionNode)
        }
        self._measure = _Measure(fragments)

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        shape = self._measure.of(node.selection_set, top=True)
        name = node.name.value if node.name else "the operation"
        for problem in _problems(shape):
            self.report_error(GraphQLError(f"{name} {problem}", node))


LIMIT_RULES: tuple[type[ValidationRule], ...] = (DocumentLimits,)


MAX_REPEATED_FIELD = 100  # one response name selected in one selection set (spec: merged)


def repeated_field(document: DocumentNode) -> GraphQLError | None:
    """The first response name selected more than MAX_REPEATED_FIELD times in one selection
    set (inline fragments' fields included), as an error naming the limit; else None.

    graphql-core's overlapping-fields rule compares such fields pairwise and recurses per field:
    ~708 copies of `version` reach Python's recursion limit, and validation answers only
    "Validation aborted." after ~1.3 s of CPU. Checked first, without recursion."""
    sets: list[SelectionSetNode] = [
        d.selection_set
        for d in document.definitions
        if isinstance(d, (OperationDefinitionNode, FragmentDefinitionNode))
    ]
    while sets:
        counts: dict[str, int] = {}
        level = [sets.pop()]
        while level:
            for item in level.pop().selections:
                if isinstance(item, InlineFragmentNode):
                    level.append(item.selection_set)
                    continue
                if not isinstance(item, FieldNode):
                    continue
                key = (item.alias or item.name).value
                counts[key] = counts.get(key, 0) + 1
                if counts[key] > MAX_REPEATED_FIELD:
                    return GraphQLError(
                        f"`{key}` is selected more than {MAX_REPEATED_FIELD} times in one "
                        f"selection set (the limit, MAX_REPEATED_FIELD): select it once",
                        item,
                        extensions={"code": "BAD_USER_INPUT", "limit": MAX_REPEATED_FIELD},
                    )
                if item.selection_set is not None:
                    sets.append(item.selection_set)
    return None
