"""A cost bound on one GraphQL request, checked before anything runs.

Depth, alias and token limits bound the text; cost bounds the work: every selected field costs 1
times how many times it will be resolved — a list argument `first`/`limit` multiplies what is
selected below it — and each question that walks the graph (impact, decisionLineage, rootCause,
accountability, auditTrail) costs a traversal on top. Variables are not known at validation, so
a `first: $n` counts as the largest page the resolvers allow (they check the real value).
The rule applying it is api/graphql/limits.py; what a walk may visit is bounded at run time
(api/graphql/traversal_budget.py).
"""

from __future__ import annotations

from graphql import FieldNode, IntValueNode

MAX_COST = 100_000
MAX_PAGE = 1_000  # api/graphql/types.py page_bounds: `first` is at most 1,000
PAGE_ARGUMENTS = ("first", "limit")
# questions that walk the graph: a BFS each, whatever is selected of the answer
TRAVERSAL_COST = {
    "impact": 1_000,
    "decisionLineage": 1_000,
    "rootCause": 1_000,
    "accountability": 1_000,
    "governance": 1_000,  # every rule's reads and walks (queries/governance)
    "checkChange": 1_000,  # one walk from every change (queries/change_check)
    "auditTrail": 100,
    "search": 100,
}


def multiplier(field: FieldNode) -> int:
    for argument in field.arguments or ():
        if argument.name.value in PAGE_ARGUMENTS:
            value = argument.value
            if isinstance(value, IntValueNode):
                if len(value.value) > len(str(MAX_PAGE)):  # no int() of 5,000 digits
                    return 1 if value.value.startswith("-") else MAX_PAGE
                return max(1, min(int(value.value), MAX_PAGE))
            return MAX_PAGE  # a variable: the most it may be
    return 1
