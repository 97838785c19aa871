"""Canonical JSON: the one spelling of a document whose hash is its identity (sorted keys, no
spaces, UTF-8 as is). The event log's ids and the decisions table's rows both use it."""

from __future__ import annotations

import json
from typing import Any


def canonical_json(body: Any) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
