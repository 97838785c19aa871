"""Validate an OpenLineage event against the spec's own models (openlineage-python's generated
classes), structured by cattrs, so every error names the field path and the reason.

Only the envelope is checked strictly (event time, run id, job, datasets, types). Facets are
kept as they came: custom facets are the point of OpenLineage, and one producer's odd facet must
not cost the rest of its event; the mapping skips a facet it cannot read.
"""

from __future__ import annotations

import re
import time
import types
import typing
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from functools import cache
from typing import Any
from urllib.parse import urlparse

import attrs
import cattrs
import cattrs.v
from openlineage.client.generated import base

from lineage_kg.graph.timefmt import canonical_time

SOURCE = "openlineage"  # the source name events are logged under and nodes are asserted by


class EventKind(StrEnum):
    RUN = "RunEvent"
    DATASET = "DatasetEvent"
    JOB = "JobEvent"


_MODELS: dict[EventKind, type] = {
    EventKind.RUN: base.RunEvent,
    EventKind.DATASET: base.DatasetEvent,
    EventKind.JOB: base.JobEvent,
}


@dataclass(frozen=True, slots=True)
class FieldError:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class _Reason(TypeError):
    """Raised by our structure hooks: its text is meant for the producer."""


class InvalidEvent(ValueError):
    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(map(str, errors)))


def _is_facet_map(t: Any) -> bool:
    if isinstance(t, types.UnionType) or typing.get_origin(t) is typing.Union:
        args = [a for a in typing.get_args(t) if a is not type(None)]
        if len(args) != 1:
            return False
        t = args[0]
    args = typing.get_args(t)
    return (
        typing.get_origin(t) is dict
        and len(args) == 2
        and isinstance(args[1], type)
        and issubclass(args[1], base.BaseFacet)
    )


def _keep_facets(value: Any, _: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Reason("facets must be an object")
    return value


def _strict(kind: type) -> Any:
    def hook(value: Any, _: Any) -> Any:
        # cattrs would turn 5 into "5"; a producer sending the wrong type should hear so
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise _Reason(f"expected {kind.__name__}, got {type(value).__name__}")
        return value

    return hook


@cache
def _converter() -> cattrs.Converter:
    for cls in (base.Run, base.Job, base.Dataset, base.InputDataset, base.OutputDataset,
                base.StaticDataset, *_MODELS.values()):  # fmt: skip
        attrs.resolve_types(cls)
    converter = cattrs.Converter(detailed_validation=True, forbid_extra_keys=False)
    converter.register_structure_hook_func(_is_facet_map, _keep_facets)
    for kind in (str, int, float, bool):
        converter.register_structure_hook(kind, _strict(kind))
    converter.register_structure_hook(base.EventType, _event_type)
    return converter


def _event_type(value: Any, _: Any) -> base.EventType:
    try:
        return base.EventType(value)
    except ValueError:
        names = ", ".join(t.value for t in base.EventType)
        raise _Reason(f"must be one of {names}, got {value!r}") from None


def event_kind(event: dict[str, Any]) -> EventKind:
    """RunEvent, DatasetEvent or JobEvent: by the schemaURL fragment if it says, else by shape."""
    schema_url = event.get("schemaURL")
    if isinstance(schema_url, str):
        for kind in EventKind:
            if schema_url.endswith(f"/{kind.value}"):
                return kind
    if "run" in event or "eventType" in event:
        return EventKind.RUN
    if "dataset" in event:
        return EventKind.DATASET
    if "job" in event:
        return EventKind.JOB
    raise InvalidEvent(
        [FieldError("$", "not an OpenLineage event: needs run+job, dataset, or job")]
    )


_SHAPES: dict[str, type] = {"run": dict, "job": dict, "dataset": dict, "inputs": list,
                            "outputs": list}  # fmt: skip


def _semantic_errors(event: dict[str, Any], kind: EventKind) -> list[FieldError]:
    errors: list[FieldError] = [
        FieldError(f"$.{name}", f"must be {'an object' if shape is dict else 'a list'}")
        for name, shape in _SHAPES.items()
        if event.get(name) is not None and not isinstance(event[name], shape)
    ]
    event_time = event.get("eventTime")
    if isinstance(event_time, str):
        try:
            canonical_time(event_time)
        except ValueError:
            errors.append(FieldError("$.eventTime", f"not an ISO-8601 timestamp: {event_time!r}"))
    errors += _blank_names(event)
    if kind is EventKind.RUN and isinstance(run := event.get("run"), dict):
        run_id = run.get("runId")
        if isinstance(run_id, str):
            try:
                uuid.UUID(run_id)
            except ValueError:
                errors.append(FieldError("$.run.runId", f"not a UUID: {run_id!r}"))
    return errors


def _blank_names(event: dict[str, Any]) -> list[FieldError]:
    """A job or dataset whose namespace or name is blank names nothing: refuse it at intake
    (the spec's models accept "" and the mapping could only park the event later)."""
    named: list[tuple[str, Any]] = [(f"$.{k}", event.get(k)) for k in ("job", "dataset")]
    for side in ("inputs", "outputs"):
        if isinstance(items := event.get(side), list):
            named += [(f"$.{side}[{i}]", item) for i, item in enumerate(items)]
    return [
        FieldError(f"{path}.{field}", "must not be blank")
        for path, item in named
        if isinstance(item, dict)
        for field in ("namespace", "name")
        if isinstance(item.get(field), str) and not item[field].strip()
    ]


# ---- how far ahead of the clock an event may claim to be ---------------------------------------
# The graph keeps what the latest event says (a job's facets, a dataset's schema, its inputs): an
# event dated 9999 would stay the latest for ever, every true event after it older and losing.
MAX_AHEAD_SECONDS = 86_400  # a producer's clock may run ahead; a day covers any zone mistake
_ahead = ["", 0.0]  # the latest acceptable time in the graph's form, and until when it holds


def ahead_error(event_time: str) -> FieldError | None:
    """The refusal of an eventTime (in the graph's form, graph.timefmt) more than
    MAX_AHEAD_SECONDS ahead of this machine's clock, else None."""
    now = time.time()
    if now >= _ahead[1]:  # worked out again once a second
        _ahead[0] = canonical_time(datetime.fromtimestamp(now + MAX_AHEAD_SECONDS, UTC))
        _ahead[1] = now + 1
    if event_time <= _ahead[0]:
        return None
    return FieldError(
        "$.eventTime",
        f"{event_time} is more than {MAX_AHEAD_SECONDS // 3600} hours ahead of this service's "
        "clock: an event from the future would stay the latest and hide every later one",
    )


def validate_event(event: Any) -> EventKind:
    """Raise `InvalidEvent` listing every problem found; return the event's kind if none."""
    return checked_event(event)[0]


def checked_event(event: Any) -> tuple[EventKind, str | None]:
    """`validate_event`, with the eventTime in the graph's form (graph.timefmt) when the check
    computed it (None: the caller converts it, as `to_new_event` did before)."""
    if not isinstance(event, dict):
        raise InvalidEvent([FieldError("$", "an event must be a JSON object")])
    kind = event_kind(event)
    if (event_time := _sure(event, kind)) is not None:
        return kind, event_time  # what the path below accepts, checked in one cheap pass
    errors = _semantic_errors(event, kind)
    if errors:
        raise InvalidEvent(errors)  # before structuring: the models' own validators lose paths
    if _fits_models(event, kind):
        return kind, None  # what structuring would accept, without building the client's objects
    try:
        _converter().structure(event, _MODELS[kind])
    except Exception as exc:  # cattrs raises exception groups; transform_error reads them all
        raise InvalidEvent(
            [
                _field_error(line)
                for line in cattrs.transform_error(exc, path="$", format_exception=_describe)
            ]
        ) from None
    return kind, None


# ---- the same verdict without the client's objects ----------------------------------------------
# Structuring builds an attrs object per run, job and dataset and runs their validators: most of
# validation's time. `_fits_models` answers True only where structuring is sure to succeed (the
# envelope's fields of exactly the types the hooks accept, the validators' own checks run). Any
# doubt answers False and structuring decides, so it alone words every refusal.
# tests/fuzz/test_validate_fast.py holds the two to the same verdicts.
_EVENT_TYPES = frozenset(t.value for t in base.EventType)
# where `dateutil.parser.isoparse` (the eventTime validator) succeeds once the date is a real
# one, which `_semantic_errors` saw `datetime.fromisoformat` confirm: hours, minutes, seconds
# and offsets in range, a `T` (the validator wants one)
_PLAIN_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(?P<fraction>\.\d{1,9})?"
    r"(?P<offset>Z|[+-]([01]\d|2[0-3]):[0-5]\d)?",
    re.ASCII,
)
_SIDES = (("inputs", "inputFacets"), ("outputs", "outputFacets"))


def _facets_fit(item: dict[str, Any], key: str = "facets") -> bool:
    return (facets := item.get(key)) is None or type(facets) is dict


def _named_fits(item: Any, *facet_keys: str) -> bool:
    """A job or dataset: an object with string namespace and name, facets an object or null."""
    return (
        type(item) is dict
        and type(item.get("namespace")) is str
        and type(item.get("name")) is str
        and all(_facets_fit(item, key) for key in facet_keys)
    )


def _fits_models(event: dict[str, Any], kind: EventKind) -> bool:
    """True only when structuring `event` as `kind` succeeds; called after `_semantic_errors`
    found nothing (a real date in eventTime, a UUID in a string runId)."""
    event_time = event.get("eventTime")
    if type(event_time) is not str or not _PLAIN_TIME.fullmatch(event_time):
        return False
    if "producer" in event:
        if type(producer := event["producer"]) is not str:
            return False
        try:
            urlparse(producer)  # the producer validator
        except ValueError:
            return False
    if kind is EventKind.DATASET:
        return _named_fits(event.get("dataset"), "facets")
    if not _named_fits(event.get("job"), "facets"):
        return False
    for side, own_facets in _SIDES:
        items = event.get(side)
        if items is not None and (
            type(items) is not list
            or not all(_named_fits(item, "facets", own_facets) for item in items)
        ):
            return False
    if kind is EventKind.JOB:
        return True
    run, event_type = event.get("run"), event.get("eventType")
    return (
        type(run) is dict
        and type(run.get("runId")) is str
        and _facets_fit(run)
        and (event_type is None or (type(event_type) is str and event_type in _EVENT_TYPES))
    )


# ---- both checks above in one pass ------------------------------------------------------------
# `_semantic_errors` builds a path per job and dataset, parses the time (and `to_new_event` did it
# again) and the run id; `_fits_models` walks the same fields again. `_sure` answers only where
# both would pass (it asks for more than they do: a `dataset` beside a run event must be a proper
# one too), with cheaper means where they are exact. tests/fuzz/test_validate_fast.py holds it to
# them and to structuring.
_ZERO_OFFSETS = frozenset({None, "Z", "+00:00", "-00:00"})
# the form `uuid.UUID` reads first (it also takes braces, `urn:uuid:`, no hyphens: those ask it)
_UUID = re.compile(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}", re.ASCII)


def _utc_time(text: str) -> str | None:
    """`canonical_time(text)` for the times `_PLAIN_TIME` knows; None for any other or a date
    that does not exist (the full path words it). With a zero offset the form is spelled
    directly: the same digits, the fraction cut or padded to six (`fromisoformat` cuts), `Z`."""
    match = _PLAIN_TIME.fullmatch(text)
    if match is None:
        return None
    try:
        if match["offset"] not in _ZERO_OFFSETS:
            return canonical_time(text)
        date.fromisoformat(text[:10])  # 2020-02-30 is not a date
    except ValueError:
        return None
    fraction = (match["fraction"] or ".")[1:7]
    return f"{text[:19]}.{fraction:0<6}Z"


def _url_sure(value: Any) -> bool:
    """A string `urlparse` (the producer validator) takes: it refuses only brackets that do not
    make an IPv6 host and netlocs that are not ASCII."""
    if type(value) is not str:
        return False
    if value.isascii() and "[" not in value and "]" not in value:
        return True
    try:
        urlparse(value)
    except ValueError:
        return False
    return True


def _named_sure(item: Any, own_facets: str = "facets") -> bool:
    """A job or dataset: an object, namespace and name non-blank strings, facets (and an input's
    or output's own facets) an object or null."""
    if type(item) is not dict:
        return False
    namespace, name = item.get("namespace"), item.get("name")
    return (
        type(namespace) is str
        and type(name) is str
        and bool(namespace.strip())
        and bool(name.strip())
        and _facets_fit(item)
        and _facets_fit(item, own_facets)
    )


def _sure(event: dict[str, Any], kind: EventKind) -> str | None:
    """The canonical eventTime when `_semantic_errors` finds nothing and `_fits_models` says yes
    for `event` as `kind`; None on any doubt."""
    event_time = event.get("eventTime")
    if type(event_time) is not str or (utc := _utc_time(event_time)) is None:
        return None
    if "producer" in event and not _url_sure(event["producer"]):
        return None
    run, job, dataset = event.get("run"), event.get("job"), event.get("dataset")
    if run is not None and type(run) is not dict:
        return None
    if (job is not None and not _named_sure(job)) or (
        dataset is not None and not _named_sure(dataset)
    ):
        return None
    for side, own_facets in _SIDES:
        items = event.get(side)
        if items is not None and (
            type(items) is not list or not all(_named_sure(i, own_facets) for i in items)
        ):
            return None
    if kind is EventKind.DATASET:
        return None if dataset is None else utc
    if job is None:
        return None
    if kind is EventKind.JOB:
        return utc
    event_type = event.get("eventType")
    if run is None or type(run_id := run.get("runId")) is not str or not _facets_fit(run):
        return None
    if not _UUID.fullmatch(run_id):
        return None
    if event_type is not None and (type(event_type) is not str or event_type not in _EVENT_TYPES):
        return None
    return utc


def _field_error(line: str) -> FieldError:
    message, _, path = line.rpartition(" @ ")
    return FieldError(path or "$", message or line)


def _describe(exc: BaseException, _type: Any) -> str:
    # our own hooks' words ("must be one of …"); cattrs' defaults for the rest
    if isinstance(exc, _Reason):
        return str(exc)
    if isinstance(exc, KeyError):
        return "required field missing"
    return cattrs.v.format_exception(exc, _type)
