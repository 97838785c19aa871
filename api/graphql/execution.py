"""Completing plain data without graphql-core's per-field machinery.

An answer is built once, as plain objects whose fields are attributes (api/graphql/types.py), so
most of a reply is fields with no resolver of their own. graphql-core still runs its whole field
protocol on each of them — resolve info, resolver, awaitable checks, type dispatch — which made
field execution most of an impact request's time (issue 19: an impact page of 1,000 items is
~6,000 fields). Here, the first time a value of some type is completed for a selection, a small
completer is compiled for that (type, selection): it reads each selected attribute and coerces
it as the spec says, recursively, and is reused for every item of a list — and by every later
request of the same document, unless a directive makes its selections depend on variables
(`plan_for`). An object that recurs within one reply (a path step) is completed once
(`shared_in_reply`).

A completer exists only where every selected field is a plain attribute (Strawberry's default
resolver, no arguments, no extensions); anything else (a resolver such as `made_by`, @defer,
middleware) takes graphql-core's ordinary road, whose children are tried again here. When the
fast road meets anything unusual — a null where the schema says non-null, a value that does not
coerce, an object that is not of the type — it gives up and the same value is completed again by
graphql-core, which produces the error, its path and its message exactly as before: plain
attributes are read without side effects, so reading them twice changes nothing.
"""

from __future__ import annotations

import keyword
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from graphql import (
    DirectiveNode,
    GraphQLAbstractType,
    GraphQLBoolean,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLString,
    is_abstract_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.execution.collect_fields import collect_subfields
from graphql.language import Node, OperationDefinitionNode
from graphql.pyutils import Undefined
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.cast import TYPE_CAST_ATTRIBUTE, get_strawberry_type_cast

Completer = Callable[[Any], Any]
_MISSING = object()
# the built-in scalars' coercion returns a value of this exact Python type unchanged (Int: within
# 32 bits; a float is checked finite by Float's coercion, so Float is not listed)
_AS_IS: dict[Any, type] = {
    GraphQLString: str,
    GraphQLID: str,
    GraphQLBoolean: bool,
    GraphQLInt: int,
}
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1


class _Slow(Exception):  # a signal, not an error: take graphql-core's road
    """The fast road cannot complete this value as graphql-core would."""


class PlainDataExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context, completing plain-data subtrees in one pass each."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        manager = self.middleware_manager
        self._fast = manager is None or not manager.middlewares
        self._plan: _Plan | None = None  # found at the first completion

    def complete_value(  # noqa: PLR0917 (graphql-core's signature)
        self,
        return_type: GraphQLOutputType,
        field_details_list: Any,
        info: Any,
        path: Any,
        result: Any,
        position_context: Any,
    ) -> Any:
        if self._fast and not isinstance(result, Exception):
            plan = self._plan or self._find_plan()
            completer = plan.completer(return_type, field_details_list)
            if completer is not None:
                try:
                    return completer(result)
                except Exception:  # graphql-core completes it again, and reports
                    pass
        return super().complete_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def _find_plan(self) -> _Plan:
        self._plan = plan_for(
            self.schema, self.fragments, self.variable_values, self.operation, self.hide_suggestions
        )
        return self._plan


# ---- plans: the completers of one operation ------------------------------------------------------
MAX_PLANS = 256  # operations whose completers are kept (the parser's cache keeps 256 documents)
_plans: OrderedDict[tuple[int, int], _Plan] = OrderedDict()
_plans_lock = threading.Lock()


def plan_for(
    schema: GraphQLSchema,
    fragments: dict[str, Any],
    variables: dict[str, Any],
    operation: OperationDefinitionNode,
    hide_suggestions: bool = False,
) -> _Plan:
    """The completers of `operation`, kept across requests when they cannot depend on variables.

    A client asks the same few documents again and again, and the parser's cache
    (schema.py: ParserCache) hands each request the same document: the same field nodes. Which
    subfields a selection has depends on the document alone unless a directive (@skip, @include,
    @defer) reads a variable; such a document gets a plan of its own per request, as before.
    Compiling was a quarter of a small request's execution (issue 19).
    """
    key = (id(schema), id(operation))
    with _plans_lock:
        plan = _plans.get(key)
        if plan is not None and plan.operation is operation and plan.schema is schema:
            _plans.move_to_end(key)
            return plan
    plan = _Plan(schema, fragments, variables, operation, hide_suggestions)
    if not _has_directives([operation, *(getattr(f, "definition", f) for f in fragments.values())]):
        with _plans_lock:
            _plans[key] = plan  # the plan keeps the schema and the document: the ids stay theirs
            while len(_plans) > MAX_PLANS:
                _plans.popitem(last=False)
    return plan


def _has_directives(roots: list[Any]) -> bool:
    stack = list(roots)
    while stack:
        node = stack.pop()
        if isinstance(node, DirectiveNode):
            return True
        if isinstance(node, Node):
            stack.extend(getattr(node, key, None) for key in node.keys if key != "loc")
        elif isinstance(node, list | tuple):
            stack.extend(node)
    return False


class _Plan:
    """One operation's completers, keyed by (type, selection): compiled once, used by every
    request that runs the operation. Compiling holds the plan's lock (other threads wait for a
    finished completer rather than see one half-built); reading needs none."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, Any],
        variables: dict[str, Any],
        operation: OperationDefinitionNode,
        hide_suggestions: bool,
    ) -> None:
        self.schema, self.operation = schema, operation
        self._fragments, self._variables = fragments, variables
        self._hide_suggestions = hide_suggestions
        # (type, ids of the selection's field nodes) -> completer, or None: not plain
        self._done: dict[tuple[Any, tuple[int, ...]], Completer | None] = {}
        self._open: set[tuple[Any, tuple[int, ...]]] = set()  # being compiled (by this thread)
        self._lock = threading.RLock()

    def completer(self, return_type: GraphQLOutputType, details: Any) -> Completer | None:
        key = (return_type, tuple([id(d.node) for d in details]))
        found = self._done.get(key, _MISSING)
        if found is not _MISSING:
            return found  # type: ignore[return-value]
        with self._lock:
            found = self._done.get(key, _MISSING)
            if found is not _MISSING:
                return found  # type: ignore[return-value]
            if key in self._open:
                return None  # a type reaching itself is not plain
            self._open.add(key)
            try:
                completer = self._compile(return_type, details)
            finally:
                self._open.discard(key)
            self._done[key] = completer
            return completer

    # ---- compiling ---------------------------------------------------------------------------
    def _compile(self, return_type: GraphQLOutputType, details: Any) -> Completer | None:
        # a non-null type is compiled with its inner type, the null check inside the inner's
        # completer: no wrapper call per value (~2,500 a full impact page)
        non_null = is_non_null_type(return_type)
        if non_null:
            return_type = return_type.of_type  # type: ignore[union-attr]
        if is_list_type(return_type):
            assert isinstance(return_type, GraphQLList)
            inner = self.completer(return_type.of_type, details)
            return None if inner is None else _list_of(inner, non_null)
        if is_leaf_type(return_type):
            coerce = return_type.coerce_output_value  # type: ignore[union-attr]
            return _leaf(coerce, _AS_IS.get(return_type), non_null)  # type: ignore[arg-type]
        if is_abstract_type(return_type):
            return self._abstract(return_type, details, non_null)  # type: ignore[arg-type]
        if is_object_type(return_type):
            return self._object(return_type, details, non_null)  # type: ignore[arg-type]
        return None

    def _object(
        self, object_type: GraphQLObjectType, details: Any, non_null: bool
    ) -> Completer | None:
        check = _strawberry_check(object_type)
        if check is False:
            return None
        grouped, new_defer_usages = collect_subfields(
            self.schema,
            self._fragments,
            self._variables,
            self.operation,
            object_type,
            details,
            self._hide_suggestions,
        )[:2]
        if new_defer_usages:
            return None
        fields: list[tuple[str, str | None, Completer]] = []
        for response_key, field_details in grouped.items():
            name = field_details[0].node.name.value
            if name == "__typename":
                fields.append((response_key, None, _constant(object_type.name)))
                continue
            attribute = _plain_attribute(object_type, name)
            if attribute is None:
                return None
            completer = self.completer(object_type.fields[name].type, field_details)
            if completer is None:
                return None
            fields.append((response_key, attribute, completer))
        return _object_of(check, fields, non_null)  # type: ignore[arg-type]

    def _abstract(self, abstract: GraphQLAbstractType, details: Any, non_null: bool) -> Completer:
        by_class: dict[type, Completer] = {}

        def complete(value: Any) -> Any:
            if value is None or value is Undefined:
                if non_null:
                    raise _Slow
                return None
            completer = by_class.get(type(value))
            if completer is None:
                runtime = self._runtime_type(abstract, value)
                found = self.completer(runtime, details)
                if found is None:
                    raise _Slow
                completer = by_class[type(value)] = found
            if getattr(value, TYPE_CAST_ATTRIBUTE, None) is not None:  # cast per object
                raise _Slow
            return completer(value)

        return complete

    def _runtime_type(self, abstract: GraphQLAbstractType, value: Any) -> GraphQLObjectType:
        """The object type a Strawberry object is, as Strawberry's own resolve_type finds it."""
        if get_strawberry_type_cast(value) is not None:
            raise _Slow
        definition = getattr(type(value), "__strawberry_definition__", None)
        if not isinstance(definition, StrawberryObjectDefinition) or definition.is_graphql_generic:
            raise _Slow
        runtime = self.schema.get_type(definition.name)
        if not isinstance(runtime, GraphQLObjectType):
            raise _Slow
        if not self.schema.is_sub_type(abstract, runtime):
            raise _Slow
        return runtime


def _plain_attribute(object_type: GraphQLObjectType, name: str) -> str | None:
    """The Python attribute a field reads, if it is a plain one (no resolver, no arguments, no
    field extensions, which is where permission classes live)."""
    field = object_type.fields.get(name)
    if field is None or field.args or not getattr(field.resolve, "_is_default", False):
        return None
    definition = (field.extensions or {}).get("strawberry-definition")
    if definition is None or definition.base_resolver is not None or definition.extensions:
        return None
    if definition.permission_classes or definition.default_resolver is not getattr:
        return None
    return definition.python_name


# ---- the completers ----------------------------------------------------------------------------
# Each takes a value of its type and returns what graphql-core would send for it, or raises
# (_Slow, or whatever reading the value raised) where graphql-core would do anything else. A
# non-null type's completer raises on a null itself (graphql-core names the field and nulls the
# parent). Objects' and lists' completers are generated code: each selected attribute read in
# place, a leaf already of the Python type its scalar sends as is taken without a call (`as_is`).


def _list_of(inner: Completer, non_null: bool) -> Completer:
    env: dict[str, Any] = {"c": inner, "_Slow": _Slow, "Undefined": Undefined}
    item = _inline_leaf("x", "c", getattr(inner, "as_is", None), env)
    null = "raise _Slow" if non_null else "return None"
    code = f"""
def complete(value):
    if isinstance(value, list | tuple):
        return [{item} for x in value]
    if value is None or value is Undefined:
        {null}
    raise _Slow
"""
    exec(code, env)  # no text from outside: the names are this module's
    return env["complete"]


def _inline_leaf(var: str, call: str, as_is: type | None, env: dict[str, Any]) -> str:
    """An expression completing `var` by the completer named `call`, with the test for a value
    already of its `as_is` type inline."""
    if as_is is int:
        within = f"{_INT_MIN} <= {var} <= {_INT_MAX}"
        return f"{var} if type({var}) is int and {within} else {call}({var})"
    if as_is is not None:
        env[f"t_{call}"] = as_is
        return f"{var} if type({var}) is t_{call} else {call}({var})"
    return f"{call}({var})"


def _leaf(coerce: Callable[[Any], Any], as_is: type | None, non_null: bool) -> Completer:
    def complete(value: Any) -> Any:
        if type(value) is as_is and (as_is is not int or _INT_MIN <= value <= _INT_MAX):
            return value  # what the built-in scalar's coercion returns for it, without the call
        if value is None or value is Undefined:
            if non_null:
                raise _Slow
            return None
        done = coerce(value)
        if done is None or done is Undefined:
            raise _Slow
        return done

    if as_is is not None:
        complete.as_is = as_is  # type: ignore[attr-defined]
    return complete


def _constant(text: str) -> Completer:
    return lambda _value: text


def _strawberry_check(object_type: GraphQLObjectType) -> Callable[[Any, Any], Any] | bool | None:
    """The type's is_type_of; None: it has none; False: it has one of the schema's own (which
    may read the resolve info: not for the fast road). Strawberry's own ignores the info."""
    is_type_of = object_type.is_type_of
    if is_type_of is None:
        return None
    if not getattr(is_type_of, "__module__", "").startswith("strawberry."):
        return False
    return is_type_of


def _object_of(
    check: Callable[[Any, Any], Any] | None,
    fields: list[tuple[str, str | None, Completer]],
    non_null: bool,
) -> Completer:
    """An object's completer as one generated function (as dataclasses and attrs generate
    theirs): each attribute read in place, in the order graphql-core reads them; an object
    of a `shared_in_reply` type completed once per completer and its map reused."""
    env: dict[str, Any] = {
        "_Slow": _Slow,
        "Undefined": Undefined,
        "check": check,
        "SHARED": _SHARED,
        "MEMO": _MEMO,
    }
    null = "raise _Slow" if non_null else "return None"
    lines = [
        "def complete(value):",
        "    if value is None or value is Undefined:",
        f"        {null}",
    ]
    if check is not None:
        lines.append("    if not check(value, None): raise _Slow")
    lines += [
        "    shared = type(value) in SHARED",
        "    if shared:",
        "        memo = getattr(value, MEMO, None)",
        "        if memo is not None and memo[0] is complete: return memo[1]",
    ]
    parts = []
    for i, (key, attribute, completer) in enumerate(fields):
        env[f"c{i}"] = completer
        if attribute is None:  # __typename
            parts.append(f"{key!r}: c{i}(value)")
            continue
        plain = attribute.isidentifier() and not keyword.iskeyword(attribute)
        read = f"value.{attribute}" if plain else f"getattr(value, {attribute!r})"
        lines.append(f"    v{i} = {read}")
        as_is = getattr(completer, "as_is", None)
        lines.append(f"    v{i} = {_inline_leaf(f'v{i}', f'c{i}', as_is, env)}")
        parts.append(f"{key!r}: v{i}")
    lines += [
        "    done = {" + ", ".join(parts) + "}",
        "    if shared: setattr(value, MEMO, (complete, done))",
        "    return done",
    ]
    exec("\n".join(lines), env)  # names from the schema; any odd one read by getattr
    return env["complete"]


# ---- objects that recur within one reply ---------------------------------------------------------
_SHARED: set[type] = set()
_MEMO = "_lkg_completed"  # (the completer, what it made of the object)


def shared_in_reply(cls: type) -> type:
    """Mark a plain-data type whose objects recur within one reply (a path step lies on the paths
    of every item beyond it: ~5 times per step in an impact page): each object is completed once
    per selection, and the map it makes reused wherever the object recurs. Its objects must take
    an attribute (no __slots__ without it) and must not change while a reply is made."""
    _SHARED.add(cls)
    return cls
