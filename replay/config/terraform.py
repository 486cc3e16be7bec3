"""Terraform's ``aws_lambda_event_source_mapping`` arguments → the API's JSON.

Terraform spells members in snake_case (:func:`~replay.config.shapes._snake`), writes nested
structures as blocks (an object, or a list of one object) and treats zero values as unset; this
module converts plain arguments, ``*.tf.json`` bodies and ``terraform show -json`` values into the
PascalCase request the shape check reads. Unknown arguments are refused with the closest name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from replay.config.messages import _OWN, _Ctx, _fail, _Path, _show, _type_error, _unknown
from replay.config.shapes import _REQUEST, _TF_IGNORED, _Shape, _snake, _split
from replay.vocabulary import SourceKind

# Terraform's "unset": a value the provider would not send.
_ABSENT = object()


def _from_terraform(doc: Mapping[str, Any], ctx: _Ctx) -> dict[str, Any]:
    """Convert Terraform arguments (plain or list-wrapped blocks) to API JSON.

    Terraform treats an argument's zero value (0, false, "", empty block) as unset — the provider
    sends only what ``GetOk`` sees — and ``terraform show -json`` writes zeros for everything the API
    did not return. So zeros become "absent", except ``enabled`` and ``maximum_retry_attempts`` (sent
    with ``GetOkExists``), the latter only where it applies (streams, provisioned Kafka).
    """
    provisioned = bool(_tf_block(doc.get("provisioned_poller_config")))
    keep_mra_zero = ctx.kind.is_stream or (ctx.kind is SourceKind.KAFKA and provisioned)
    out = _tf_struct(doc, _REQUEST, (), ctx, top=True)
    if (
        type(doc.get("maximum_retry_attempts")) is int
        and doc["maximum_retry_attempts"] == 0
        and keep_mra_zero
    ):
        out["MaximumRetryAttempts"] = 0
    if doc.get("enabled") is False:
        out["Enabled"] = False
    return out


def _tf_block(value: Any) -> Any:
    """A Terraform block's body: the object itself, or the single item of its list form."""
    if isinstance(value, list):
        if not value:
            return None
        return value[0] if len(value) == 1 else value
    return value


def _tf_struct(
    doc: Mapping[str, Any], shape: _Shape, path: _Path, ctx: _Ctx, *, top: bool = False
) -> dict[str, Any]:
    assert shape.members is not None
    by_tf = {_snake(name): name for name in shape.members}
    out: dict[str, Any] = {}
    for key, value in doc.items():
        if top and key in _TF_IGNORED:
            continue
        member = by_tf.get(key) if isinstance(key, str) else None
        if member is None:
            names = set(by_tf) | (_TF_IGNORED if top else set())
            _unknown(ctx, path, str(key), names)
        converted = _tf_value(value, shape.members[member], (*path, member), ctx)
        if converted is not _ABSENT:
            out[member] = converted
    return out


def _tf_value(value: Any, shape: _Shape, path: _Path, ctx: _Ctx) -> Any:
    """One Terraform value in API form, or ``_ABSENT`` for Terraform's "unset"."""
    if value is None or value == "" or value is False or (value == 0 and shape.type == "integer"):
        return _ABSENT
    if isinstance(value, str) and "${" in value:
        if path in (("FunctionName",), ("EventSourceArn",)):
            return _ABSENT  # a reference to another resource: unknown here, and not needed
        _fail(
            ctx,
            [path],
            _OWN,
            f"unresolved Terraform expression {_show(value)}; "
            "use `terraform show -json` output or give the value with --set",
        )
    if shape.type == "structure":
        return _tf_struct_value(value, shape, path, ctx)
    if shape.type == "list":
        return _tf_list_value(value, shape, path, ctx)
    if shape.type == "map" and path[-1:] == ("Endpoints",) and isinstance(value, Mapping):
        # endpoints = { KAFKA_BOOTSTRAP_SERVERS = "a:9092,b:9092" }
        return {k: _split(v) if isinstance(v, str) else v for k, v in value.items()}
    if isinstance(value, Mapping | list) and not value:
        return _ABSENT
    return value


def _tf_struct_value(value: Any, shape: _Shape, path: _Path, ctx: _Ctx) -> Any:
    if isinstance(value, list) and len(value) > 1:
        _fail(ctx, [path], _OWN, f"a {_snake(str(path[-1]))} block may appear only once")
    body = _tf_block(value)
    if body is None:
        return _ABSENT
    if not isinstance(body, Mapping):
        _type_error(ctx, path, value, shape)
    out = _tf_struct(body, shape, path, ctx)
    return out if out else _ABSENT


def _tf_list_value(value: Any, shape: _Shape, path: _Path, ctx: _Ctx) -> Any:
    if not isinstance(value, list | tuple):
        return value  # let the shape check report the type
    assert shape.item is not None
    if shape.item.type != "structure":
        return list(value) if value else _ABSENT
    items = []
    for index, item in enumerate(value):
        if not isinstance(item, Mapping):
            _type_error(ctx, (*path, index), item, shape.item)
        items.append(_tf_struct(item, shape.item, (*path, index), ctx))
    return items if items else _ABSENT
