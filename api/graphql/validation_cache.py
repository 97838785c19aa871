"""A document's validation kept across requests, found by the parsed document's identity.

Strawberry's ValidationCache keys its LRU by the document itself: graphql-core's `Node.__hash__`
walks the whole tree on every request (~4 % of a small request's execution, issue 19). The
parser's cache (schema.py: ParserCache) already hands every request of the same text the same
document object, so here the key is that object's identity, with the schema and the rules.

What validation answers depends on the schema, the document and the rules alone: never on
variables (the cost rule counts a `first: $n` as the largest page, api/graphql/cost.py) nor on
who asks (auth runs before GraphQL, as FastAPI dependencies: api/auth.py, and the resolvers'
own checks run at execution). An entry keeps its schema and document alive, so the ids in its
key stay theirs while it is kept; the number of entries is bounded (LRU).
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Iterator

from graphql import GraphQLError, GraphQLSchema
from graphql.language import DocumentNode, OperationDefinitionNode
from graphql.validation.validate import ValidationAbortedError
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from lineage_kg.api.graphql.limits import repeated_field

MANY_OPERATIONS = "Must provide operation name if query contains multiple operations."
MAX_VALIDATIONS = 256  # documents whose validation is kept (the parser's cache keeps 256)

_Key = tuple[int, int, tuple[type, ...]]
_kept: OrderedDict[_Key, tuple[GraphQLSchema, DocumentNode, list[GraphQLError]]] = OrderedDict()
_lock = threading.Lock()


def validated(
    schema: GraphQLSchema, document: DocumentNode, rules: tuple[type, ...]
) -> list[GraphQLError]:
    """The errors of validating `document` against `schema` with `rules` (empty: valid)."""
    key = (id(schema), id(document), rules)
    with _lock:
        found = _kept.get(key)
        if found is not None and found[0] is schema and found[1] is document:
            _kept.move_to_end(key)
            return list(found[2])
    errors = validate_document(schema, document, rules)
    with _lock:
        _kept[key] = (schema, document, errors)
        while len(_kept) > MAX_VALIDATIONS:
            _kept.popitem(last=False)
    return list(errors)


class DocumentValidationCache(SchemaExtension):
    """Validate each parsed document once (per schema and rules); list it after the extensions
    that add rules (AddValidationRules), so the rules it is keyed by are the request's."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        assert context.graphql_document is not None
        repeated = repeated_field(context.graphql_document)
        if repeated is not None:  # before graphql-core's rules, which recurse per copy
            context.pre_execution_errors = [repeated]
            yield
            return
        errors = validated(
            context.schema._schema, context.graphql_document, tuple(context.validation_rules)
        )
        for i, error in enumerate(errors):
            if isinstance(error, ValidationAbortedError) and error.message == "Validation aborted.":
                errors[i] = GraphQLError(  # graphql-core met a RecursionError
                    "validation stopped at Python's recursion limit "
                    f"({sys.getrecursionlimit():,} frames): the document is too repetitive or "
                    "too deep to check; ask less at once",
                    extensions={"code": "BAD_USER_INPUT", "limit": sys.getrecursionlimit()},
                )
        # Strawberry runs the first operation when none is named (it takes the first one's
        # name); the spec asks for an error ("GetOperation", graphql-core's own message)
        if getattr(context, "_provided_operation_name", None) is None:
            operations = [
                d
                for d in context.graphql_document.definitions
                if isinstance(d, OperationDefinitionNode)
            ]
            if len(operations) > 1:
                errors.append(GraphQLError(MANY_OPERATIONS, operations[1]))
        context.pre_execution_errors = errors
        yield


def kept_count() -> int:
    """How many validations are kept now (for tests of the bound)."""
    with _lock:
        return len(_kept)


def _clear() -> None:  # tests
    with _lock:
        _kept.clear()


__all__ = ["MAX_VALIDATIONS", "DocumentValidationCache", "kept_count", "validated"]
