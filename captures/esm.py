"""Snapshot an event source mapping and its function: ``esm-replay capture esm UUID | --function``.

GetEventSourceMapping (or ListEventSourceMappings for a function), GetFunctionConfiguration and
GetFunctionConcurrency, plus the source's own settings (queue attributes, stream retention, view
type). The ESM is kept in AWS's JSON shape, minus the response metadata, so ``esm-replay replay
--config FILE`` reads the snapshot as it is; the function's ``Timeout``, ``MemorySize``, ``Role``
and ``ReservedConcurrentExecutions`` go to a capture's ``function`` with ``--into``.

Cost: 1 GetEventSourceMapping (or 1 ListEventSourceMappings page per 100 mappings), 1
GetFunctionConfiguration and 1 GetFunctionConcurrency per function, and 1 describe call per
source. Read-only.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from captures.aws import Arn, AwsOptions, aws_errors
from captures.writer import rewrite_parts, update_manifest
from replay.config import parse_config, source_kind_of_arn
from replay.errors import UserError
from replay.events import EventContext, record_sizes
from replay.formats.capture import Manifest, read_manifest
from replay.vocabulary import SourceKind

FUNCTION_FIELDS = (
    "FunctionName",
    "FunctionArn",
    "Runtime",
    "Handler",
    "Timeout",
    "MemorySize",
    "Role",
    "Architectures",
)


@dataclass(frozen=True)
class EsmSnapshot:
    """The mappings found, with their functions and their sources' settings."""

    mappings: tuple[dict[str, Any], ...]
    functions: dict[str, dict[str, Any]]
    sources: dict[str, dict[str, Any]]

    def config_document(self) -> dict[str, Any]:
        """What ``-o FILE`` holds: one GetEventSourceMapping response, or the list form."""
        if len(self.mappings) == 1:
            return dict(self.mappings[0])
        return {"EventSourceMappings": list(self.mappings)}

    def function_for(self, mapping: dict[str, Any]) -> dict[str, Any]:
        """The function configuration of one mapping (empty when unknown)."""
        return self.functions.get(str(mapping.get("FunctionArn", "")), {})


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    return value


def snapshot(aws: AwsOptions, uuid: str | None = None, function: str | None = None) -> EsmSnapshot:
    """Read the ESM(s) by UUID or by function, with function and source settings.

    Raises:
        UserError: neither or both given, nothing found, or an AWS failure.
    """
    if (uuid is None) == (function is None):
        raise UserError("capture esm: give an ESM UUID or --function NAME (one of them)")
    if function is not None and (arn := Arn.parse(function)) is not None:
        aws = aws.with_region(arn.region)
    lam = aws.client("lambda")
    with aws_errors(f"lambda event source mapping {uuid or function}"):
        if uuid is not None:
            mappings = [lam.get_event_source_mapping(UUID=uuid)]
        else:
            mappings = []
            kwargs: dict[str, Any] = {"FunctionName": function}
            while True:
                page = lam.list_event_source_mappings(**kwargs)
                mappings.extend(page.get("EventSourceMappings", []))
                if not page.get("NextMarker"):
                    break
                kwargs["Marker"] = page["NextMarker"]
    if not mappings:
        raise UserError(f"function {function}: has no event source mappings")
    clean = tuple(_jsonable(m) for m in mappings)
    functions: dict[str, dict[str, Any]] = {}
    for m in clean:
        fn = str(m.get("FunctionArn", ""))
        if fn and fn not in functions:
            functions[fn] = _function(lam, fn)
    sources = {
        str(m["EventSourceArn"]): _source_settings(aws, str(m["EventSourceArn"]))
        for m in clean
        if m.get("EventSourceArn")
    }
    return EsmSnapshot(clean, functions, sources)


def _function(lam: Any, arn: str) -> dict[str, Any]:
    with aws_errors(f"lambda function {arn}"):
        conf = lam.get_function_configuration(FunctionName=arn)
        try:
            conc = lam.get_function_concurrency(FunctionName=arn)
        except Exception:  # an unsupported call (older emulators) only loses this one figure
            conc = {}
    out = {k: conf[k] for k in FUNCTION_FIELDS if k in conf}
    if conc.get("ReservedConcurrentExecutions") is not None:
        out["ReservedConcurrentExecutions"] = conc["ReservedConcurrentExecutions"]
    return dict(_jsonable(out))


def _source_settings(aws: AwsOptions, arn: str) -> dict[str, Any]:
    kind = source_kind_of_arn(arn)
    parsed = Arn.parse(arn)
    try:
        if kind is SourceKind.SQS and parsed is not None:
            from captures.sqs import queue_settings, resolve_queue

            queue, _, _ = resolve_queue(aws, arn)
            return queue_settings(queue.attributes)  # typed, as the live capture stores them
        if kind is SourceKind.KINESIS and parsed is not None:
            name = parsed.resource.split("/")[1]
            s = aws.client("kinesis").describe_stream_summary(StreamName=name)
            summary = s["StreamDescriptionSummary"]
            return {"RetentionPeriodHours": summary.get("RetentionPeriodHours")}
        if kind is SourceKind.DYNAMODB:
            d = aws.client("dynamodbstreams").describe_stream(StreamArn=arn)["StreamDescription"]
            return {"StreamViewType": d.get("StreamViewType")}
    except UserError:
        raise
    except Exception as exc:  # a source we may not read: the snapshot still has the ESM
        return {"unreadable": type(exc).__name__}
    return {}


def write_config(snap: EsmSnapshot, path: str | Path) -> Path:
    """Write the ESM configuration file (checked by ``parse_config`` first, as replay will)."""
    doc = snap.config_document()
    for m in snap.mappings:
        kind = source_kind_of_arn(str(m.get("EventSourceArn", ""))) or SourceKind.KINESIS
        parse_config(
            dict(m),
            kind=kind,
            fifo=str(m.get("EventSourceArn", "")).endswith(".fifo"),
            where="snapshot",
        )
    target = Path(path)
    target.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return target


def store_into(snap: EsmSnapshot, capture_path: str) -> Manifest:
    """Put the mappings of the capture's source and their function into its manifest.

    Mappings whose EventSourceArn is another source are left out; when the function's Role changes,
    Kinesis record sizes (which include ``invokeIdentityArn``) are recomputed.

    Raises:
        UserError: none of the mappings reads the capture's source.
    """
    manifest = read_manifest(capture_path)
    arn = manifest.source.arn
    mine = [m for m in snap.mappings if arn is None or m.get("EventSourceArn") in (arn, None)]
    if not mine:
        found = ", ".join(str(m.get("EventSourceArn")) for m in snap.mappings)
        raise UserError(f"{capture_path}: the capture is of {arn}; the mappings read {found}")
    function = {**manifest.function, **snap.function_for(mine[0])}
    settings = {**manifest.source.settings}
    for key, value in snap.sources.get(str(mine[0].get("EventSourceArn")), {}).items():
        settings.setdefault(key, value)
    new = replace(
        manifest,
        esm=tuple(mine),
        function=function,
        source=replace(manifest.source, settings=settings),
    )
    role = function.get("Role")
    if (
        manifest.source.kind is SourceKind.KINESIS
        and role
        and role != manifest.function.get("Role")
    ):
        ctx = EventContext(SourceKind.KINESIS, arn or "", manifest.source.region or "", role)
        parts = rewrite_parts(
            capture_path,
            lambda t: t.set_column(t.schema.get_field_index("size"), "size", record_sizes(t, ctx)),
        )
        new = replace(new, parts=parts)
    update_manifest(capture_path, new)
    return new
