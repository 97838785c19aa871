"""A cost bound on one GraphQL request, checked before anything runs.

Depth, alias and token limits bound the text; cost bounds the work: every selected field costs 1
times how many times it will be resolved — a list argument `first`/`limit` multiplies what is
selected below it — and each question that walks the graph (impact, decisionLineage, rootCause,
accountability, auditTrail) costs a traversal on top. Variables are not known at validation, so
a `first: $n` counts as the largest page the resolvers allow (they check the real value).
"""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)
from graphql.language import FragmentSpreadNode, InlineFragmentNode

MAX_COST = 100_000
MAX_PAGE = 1_000  # api/types.py page_bounds: `first` is at most 1,000
PAGE_ARGUMENTS = ("first", "limit")
# questions that walk the graph: a BFS each, whatever is selected of the answer
TRAVERSAL_COST = {
    "impact": 1_000,
    "decisionLineage": 1_000,
    "rootCause": 1_000,
    "accountability": 1_000,
    "auditTrail": 100,
    "search": 100,
}


def _multiplier(field: FieldNode) -> int:
    for argument in field.arguments or ():
        if argument.name.value in PAGE_ARGUMENTS:
            value = argument.value
            if isinstance(value, IntValueNode):
                return max(1, min(int(value.value), MAX_PAGE))
            return MAX_PAGE  # a variable: the most it may be
    return 1


class CostLimit(ValidationRule):
    """Refuse a request whose estimated cost exceeds MAX_COST, naming the cost."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self.fragments: dict[str, FragmentDefinitionNode] = {
            d.name.value: d
            for d in context.document.definitions
            if isinstance(d, FragmentDefinitionNode)
        }

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        cost = self._cost(node.selection_set, 1, top=True, seen=frozenset())
        if cost > MAX_COST:
            name = node.name.value if node.name else "the operation"
            self.report_error(
                GraphQLError(
                    f"{name} would cost about {cost:,} (limit {MAX_COST:,}): ask for smaller "
                    "pages (first/limit) or fewer fields",
                    node,
                )
            )

    def _cost(
        self, selection: SelectionSetNode | None, times: int, *, top: bool, seen: frozenset[str]
    ) -> int:
        if selection is None:
            return 0
        total = 0
        for item in selection.selections:
            if isinstance(item, FieldNode):
                total += times * (1 + (TRAVERSAL_COST.get(item.name.value, 0) if top else 0))
                total += self._cost(
                    item.selection_set, times * _multiplier(item), top=False, seen=seen
                )
            elif isinstance(item, InlineFragmentNode):
                total += self._cost(item.selection_set, times, top=top, seen=seen)
            elif isinstance(item, FragmentSpreadNode):
                name = item.name.value
                if name in seen or name not in self.fragments:
                    continue  # cycles and unknown fragments are other rules' errors
                fragment = self.fragments[name].selection_set
                total += self._cost(fragment, times, top=top, seen=seen | {name})
        return total
