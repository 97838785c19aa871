"""Errors that mean "the caller asked for something wrong", mapped to 4xx / GraphQL codes at the
edge (api/). Anything else escaping a request is a bug and is logged as one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class LineageError(Exception):
    code = "INTERNAL"

    @property
    def extensions(self) -> dict[str, Any]:
        """What a client may read besides the message (GraphQL error extensions)."""
        return {}


class InvalidArgument(LineageError, ValueError):
    """A request argument is out of range or malformed; the message names it."""

    code = "BAD_USER_INPUT"


class NotFound(LineageError, LookupError):
    """Nothing by that name. A name lookup says which normalised name it looked for and the
    closest known names, so the caller can correct the spelling."""

    code = "NOT_FOUND"

    def __init__(
        self, message: str, *, looked_for: str | None = None, suggestions: Sequence[str] = ()
    ) -> None:
        super().__init__(message)
        self.looked_for = looked_for
        self.suggestions = list(suggestions)

    @property
    def extensions(self) -> dict[str, Any]:
        if self.looked_for is None:
            return {}
        return {"lookedFor": self.looked_for, "suggestions": self.suggestions}
