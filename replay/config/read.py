"""Reading an ESM configuration: :func:`parse_config` and :func:`load_config`.

An ESM configuration arrives in one of the shapes AWS users already have on disk: a
``CreateEventSourceMapping`` request, a ``GetEventSourceMapping`` response or the output of
``aws lambda list-event-source-mappings`` (PascalCase); Terraform arguments (snake_case), plain or
in the block form of ``*.tf.json`` and ``terraform show -json``; or a JSON or YAML file holding
any of those. This module finds the one mapping a document holds and runs it through the layers
of the package: Terraform conversion, ``--set`` overrides, the shape check, the rules and the
defaults.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from replay.config.check import _check_struct, _prune
from replay.config.constraints import _HARD_MAX_FILTERS, DEFAULT_MAX_FILTERS, _check_rules
from replay.config.defaults import _build
from replay.config.families import _resolve_family
from replay.config.messages import _OWN, _Ctx, _one_line
from replay.config.model import EsmConfig
from replay.config.overrides import _apply_overrides
from replay.config.shapes import _REQUEST, _RESPONSE_ONLY, _TF_RESOURCE
from replay.config.terraform import _from_terraform
from replay.errors import ConfigError
from replay.vocabulary import SourceKind

# ---------------------------------------------------------------------------------------------
# Input forms: files, list-event-source-mappings, tf.json, terraform show -json
# ---------------------------------------------------------------------------------------------


def _read_file(path: str | os.PathLike[str], where: str) -> Any:
    """Parse a JSON file, or YAML when the name ends in .yaml/.yml."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{where}: cannot read: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{where}: not a UTF-8 text file") from None
    if str(path).lower().endswith((".yaml", ".yml")):
        return _parse_yaml(text, where)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(
            f"{where}: not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})"
        ) from None


def _parse_yaml(text: str, where: str) -> Any:
    import yaml  # only YAML inputs need it

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(f"{where}: not valid YAML: {_one_line(str(problem))}{at}") from None


def _esm_id(doc: Mapping[str, Any]) -> str | None:
    value = doc.get("UUID") or doc.get("uuid") or doc.get("id")
    return str(value) if value else None


def _pick(candidates: list[tuple[str, Any]], uuid: str | None, where: str, what: str) -> Any:
    """One ESM out of several: the only one, or the one whose UUID (or Terraform name) is ``uuid``."""
    if uuid is not None:
        for name, doc in candidates:
            aliases: set[str | None] = {name}
            if isinstance(doc, Mapping):
                aliases |= {_esm_id(doc), _esm_id(doc.get("values") or {}), doc.get("address")}
            if uuid in aliases:
                return doc
        found = ", ".join(name for name, _ in candidates) or "none"
        raise ConfigError(
            f"{where}: {what}: {_OWN}: no event source mapping {uuid!r}; found: {found}"
        )
    if len(candidates) == 1:
        return candidates[0][1]
    if not candidates:
        raise ConfigError(f"{where}: {what}: {_OWN}: no event source mapping in this document")
    names = ", ".join(name for name, _ in candidates)
    raise ConfigError(
        f"{where}: {what}: {_OWN}: {len(candidates)} event source mappings; "
        f"choose one by UUID: {names}"
    )


def _tf_resources(module: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """ESM resources in a ``terraform show -json`` module, child modules included."""
    found: list[tuple[str, Any]] = []
    for resource in module.get("resources") or []:
        if isinstance(resource, Mapping) and resource.get("type") == _TF_RESOURCE:
            values = resource.get("values") or {}
            found.append((_esm_id(values) or str(resource.get("address")), resource))
    for child in module.get("child_modules") or []:
        if isinstance(child, Mapping):
            found.extend(_tf_resources(child))
    return found


def _tf_json_resources(resource: Any) -> list[tuple[str, Any]]:
    """ESM resources in a tf.json ``resource`` block (an object, or a list of objects)."""
    blocks = resource if isinstance(resource, list) else [resource]
    found: list[tuple[str, Any]] = []
    for block in blocks:
        if not isinstance(block, Mapping):
            continue
        for name, body in (block.get(_TF_RESOURCE) or {}).items():
            bodies = body if isinstance(body, list) else [body]
            found.extend((name, item) for item in bodies)
    return found


def _unwrap(doc: Any, uuid: str | None, where: str) -> Any:
    """Reduce any accepted container to the one ESM object it holds."""
    if isinstance(doc, list):
        return _unwrap(
            _pick([(_esm_id(d) or f"#{i}", d) for i, d in enumerate(doc)], uuid, where, "-"),
            None,
            where,
        )
    if not isinstance(doc, Mapping):
        raise ConfigError(
            f"{where}: expected a JSON object (an ESM configuration), got {type(doc).__name__}"
        )
    if isinstance(doc.get("EventSourceMappings"), list):
        items = doc["EventSourceMappings"]
        named = [(_esm_id(d) or f"#{i}", d) for i, d in enumerate(items) if isinstance(d, Mapping)]
        return _pick(named, uuid, where, "EventSourceMappings")
    if "resource" in doc:
        return _pick(_tf_json_resources(doc["resource"]), uuid, where, "resource")
    values = doc.get("values")
    if isinstance(values, Mapping) and "root_module" in values:
        picked = _pick(_tf_resources(values["root_module"]), uuid, where, "values")
        return picked.get("values") or {}
    if isinstance(values, Mapping) and ("address" in doc or doc.get("type") == _TF_RESOURCE):
        return values
    return doc


def _is_terraform(doc: Mapping[str, Any]) -> bool:
    """Terraform names are snake_case; the API's are PascalCase. The majority decides."""
    lower = sum(1 for k in doc if isinstance(k, str) and k[:1].islower())
    return lower > len(doc) - lower


# ---------------------------------------------------------------------------------------------
# Public entry points
# ---------------------------------------------------------------------------------------------


def parse_config(
    obj: Any,
    *,
    kind: SourceKind,
    fifo: bool = False,
    where: str = "config",
    uuid: str | None = None,
    overrides: Sequence[str] = (),
    kafka_self_managed: bool | None = None,
    max_filters: int = DEFAULT_MAX_FILTERS,
) -> tuple[EsmConfig, dict[str, Any]]:
    """Parse, default and validate one ESM configuration for a source of ``kind``.

    Args:
        obj: API JSON, Terraform arguments, a list-event-source-mappings / tf.json / terraform show
            document (already parsed), or a path to a JSON/YAML file holding one.
        kind: The captured source's kind.
        fifo: The captured SQS queue is FIFO.
        where: Names the input in error messages (a file name).
        uuid: Picks one ESM out of several (UUID, or Terraform resource name).
        overrides: ``Key=Value`` strings (``--set``), applied before defaults and validation.
        kafka_self_managed: For Kafka, whether the capture is self-managed Apache Kafka (None:
            infer from the configuration, MSK when it does not say).
        max_filters: The account's filters-per-ESM quota (5 by default, up to 10).

    Returns:
        The configuration, and the ``Source.*`` overrides (source settings such as
        ``VisibilityTimeout``, keys without the ``Source.`` prefix).

    Raises:
        ConfigError: the input is unreadable, names an unknown field, or holds a value AWS (or
            the replay) would refuse. The message is one line.
    """
    if not 1 <= max_filters <= _HARD_MAX_FILTERS:
        raise ValueError(f"max_filters must be 1..{_HARD_MAX_FILTERS}, got {max_filters}")
    if fifo and kind is not SourceKind.SQS:
        raise ValueError("fifo applies to SQS sources only")
    if isinstance(obj, os.PathLike) or (
        isinstance(obj, str) and not obj.lstrip().startswith(("{", "["))
    ):
        return load_config(
            obj,
            kind=kind,
            fifo=fifo,
            uuid=uuid,
            overrides=overrides,
            kafka_self_managed=kafka_self_managed,
            max_filters=max_filters,
        )
    if isinstance(obj, str):
        try:
            obj = json.loads(obj)
        except json.JSONDecodeError as error:
            raise ConfigError(f"{where}: not valid JSON: {error.msg}") from None
    ctx = _Ctx(where, kind, fifo, max_filters)
    doc = _unwrap(obj, uuid, where)
    if not isinstance(doc, Mapping):
        raise ConfigError(f"{where}: expected a JSON object (an ESM configuration)")
    esm_uuid = (
        _esm_id(doc) if _is_terraform(doc) else (str(doc["UUID"]) if doc.get("UUID") else None)
    )
    if doc is obj and uuid is not None:
        # A single mapping (not picked out of a list): ``uuid`` must agree with it, or name it.
        if esm_uuid is not None and uuid != esm_uuid:
            raise ConfigError(f"{where}: UUID: {_OWN}: the configuration is {esm_uuid}, not {uuid}")
        esm_uuid = esm_uuid or uuid
    request = _from_terraform(doc, ctx) if _is_terraform(doc) else dict(doc)
    function_arn = request.pop("FunctionArn", None)
    for name in _RESPONSE_ONLY:
        request.pop(name, None)
    request, source = _apply_overrides(request, overrides, ctx)
    clean = _prune(_check_struct(request, _REQUEST, (), ctx))
    family = _resolve_family(clean, ctx, kafka_self_managed if kind is SourceKind.KAFKA else None)
    filters = _check_rules(clean, ctx, family)
    config = _build(
        clean,
        kind=kind,
        fifo=fifo,
        family=family,
        esm_uuid=esm_uuid,
        function_arn=function_arn if isinstance(function_arn, str) else None,
        filters=filters,
    )
    return config, source


def load_config(
    path: str | os.PathLike[str],
    *,
    kind: SourceKind,
    fifo: bool = False,
    uuid: str | None = None,
    overrides: Sequence[str] = (),
    kafka_self_managed: bool | None = None,
    max_filters: int = DEFAULT_MAX_FILTERS,
) -> tuple[EsmConfig, dict[str, Any]]:
    """Read a JSON (or .yaml/.yml) file and :func:`parse_config` it; errors name the file."""
    where = os.fspath(path)
    return parse_config(
        _read_file(path, where),
        kind=kind,
        fifo=fifo,
        where=where,
        uuid=uuid,
        overrides=overrides,
        kafka_self_managed=kafka_self_managed,
        max_filters=max_filters,
    )
