"""Statement parameters the driver packs as they are but does not turn into text.

The neo4j driver (5.28, `_bolt5.run`) logs every RUN message at debug level with
`" ".join(map(repr, fields))` as its argument: the parameters' repr is built before the logger
checks its level, so every read paid for the text of its parameters and threw it away — ~9 ms
for 34k start keys, ~28 ms for 34k `[key, state, flag]` marks, under the GIL. The top-level
values wrapped here are `list`/`dict` subclasses: packed to the same bytes (the Rust packer and
the Python one take subclasses), their `repr` a few characters. Nested values need no wrapping:
only the top level's repr is ever asked for.
"""

from __future__ import annotations

from typing import Any


class QuietList(list[Any]):
    __slots__ = ()

    def __repr__(self) -> str:
        return f"<list of {len(self)}>"


class QuietDict(dict[str, Any]):
    __slots__ = ()

    def __repr__(self) -> str:
        return f"<map of {len(self)}>"


def quiet(params: dict[str, Any]) -> dict[str, Any]:
    """`params` with each top-level list or dict value a quiet copy (a shallow copy: C speed)."""
    return {name: _quiet(value) for name, value in params.items()}


def _quiet(value: Any) -> Any:
    if isinstance(value, list) and not isinstance(value, QuietList):
        return QuietList(value)
    if isinstance(value, dict) and not isinstance(value, QuietDict):
        return QuietDict(value)
    return value
