"""ESM configuration: read, default and validate an event source mapping's settings.

An ESM configuration arrives in one of the shapes AWS users already have on disk:

* a ``CreateEventSourceMapping`` request, a ``GetEventSourceMapping`` response or the output of
  ``aws lambda list-event-source-mappings`` (PascalCase, the Lambda API's own JSON);
* Terraform's ``aws_lambda_event_source_mapping`` arguments (snake_case), as plain objects or in the
  list-wrapped block form of ``*.tf.json`` and ``terraform show -json``;
* a JSON or YAML file holding any of those.

:func:`parse_config` turns it into an :class:`EsmConfig`: omitted fields take the documented defaults
*for the source being replayed* (B1, B2, ESM-SEMANTICS 1.1), and a value AWS would refuse is refused
here with AWS's own error text where it is recorded (13.4 A03-A06, B3-B10, B70, B78, B82, B85, B88).
An unknown field is refused naming the closest known one, so a typo never silently becomes a default.

Every error is a :class:`~replay.errors.ConfigError` whose text is one line:
``<where>: <FieldName>: <exception name>: <text>``, where ``where`` is the file name (or ``--set``
when the offending value came from an override).

This module is the package's public face; the work is done in its modules, in the order a
configuration passes through them:

* :mod:`~replay.config.read` — input forms, :func:`parse_config` and :func:`load_config`;
* :mod:`~replay.config.terraform` — Terraform arguments → API JSON;
* :mod:`~replay.config.overrides` — ``--set Key=Value`` (and ``Source.*``);
* :mod:`~replay.config.shapes` — the botocore request shape, as data (the core never imports
  botocore);
* :mod:`~replay.config.check` — the shape check (``ValidationException``);
* :mod:`~replay.config.families` — source families, applicability, ARNs;
* :mod:`~replay.config.constraints` — the cross-field rules (``InvalidParameterValueException``) and
  :func:`check_function_fit`;
* :mod:`~replay.config.defaults` — the per-family defaults and the build of the
  :class:`EsmConfig`; :func:`default_config`;
* :mod:`~replay.config.model` — :class:`EsmConfig` and its parts;
* :mod:`~replay.config.messages` — the error context and AWS's message forms.
"""

from __future__ import annotations

from replay.config.constraints import DEFAULT_MAX_FILTERS, check_function_fit
from replay.config.defaults import default_config
from replay.config.families import source_kind_of_arn
from replay.config.model import EsmConfig, ProvisionedPollers, StartingPosition
from replay.config.read import load_config, parse_config

__all__ = [
    "DEFAULT_MAX_FILTERS",
    "EsmConfig",
    "ProvisionedPollers",
    "StartingPosition",
    "check_function_fit",
    "default_config",
    "load_config",
    "parse_config",
    "source_kind_of_arn",
]
