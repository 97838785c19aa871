"""Errors that mean "the caller asked for something wrong", mapped to 4xx / GraphQL codes at the
edge (api/). Anything else escaping a request is a bug and is logged as one."""

from __future__ import annotations


class LineageError(Exception):
    code = "INTERNAL"


class InvalidArgument(LineageError, ValueError):
    """A request argument is out of range or malformed; the message names it."""

    code = "BAD_USER_INPUT"


class NotFound(LineageError, LookupError):
    code = "NOT_FOUND"
