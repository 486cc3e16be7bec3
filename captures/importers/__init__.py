"""Import AWS JSON into a capture: ``esm-replay capture import FILE... --source KIND -o CAPTURE``.

Accepted inputs, detected per file (see docs/capture-format.md for examples):

- Lambda event JSON as a function receives it: one event, a JSON array of events, or JSON Lines
  holding one event or one record per line — Kinesis and DynamoDB (``{"Records": [...]}``), SQS
  (``{"Records": [...]}``) and Kafka (``{"eventSource", ..., "records": {"<topic>-<p>": [...]}}``).
- AWS CLI output: ``aws kinesis get-records`` and ``aws dynamodbstreams get-records``, and
  ``aws sqs receive-message`` (``{"Messages": [...]}``); one file per page, all pages together.
- ``kcat -C -J`` output for Kafka (JSON Lines, one record per line).

Every problem is one :class:`~replay.errors.ImportFormatError` line naming the file, the record
(0-based, in file order) and, for JSON Lines, the line. Nothing is written unless every record of
every file is valid.

The package's modules, in the order an import runs through them:

- :mod:`~captures.importers.documents`: files read as JSON or JSON Lines, records unwrapped from
  their containers, the input form detected, each record handed to its parser;
- one parser module per source kind — :mod:`~captures.importers.kinesis`,
  :mod:`~captures.importers.dynamodb`, :mod:`~captures.importers.sqs` (with the queue settings),
  :mod:`~captures.importers.kafka` — over the field readers of :mod:`~captures.importers.fields`;
- :mod:`~captures.importers.sink`: the column lists parsers append to, and the table built from them;
- :mod:`~captures.importers.identity`: each source kind's ARN, region, shards and settings;
- :mod:`~captures.importers.pipeline`: the entry points that tie them together and write the capture.

This module is the public face: the names below are what the rest of esm-replay (the CLI, the live
capture, the tests) imports.
"""

from __future__ import annotations

from captures.importers.identity import (
    DEFAULT_DYNAMODB_SHARD,
    DEFAULT_KINESIS_SHARD,
    KAFKA_SETTING_BOOTSTRAP_SERVERS,
    KAFKA_SETTING_SELF_MANAGED,
)
from captures.importers.pipeline import (
    DEFAULT_ARRIVAL_MS,
    ImportResult,
    import_files,
    import_to_capture,
)
from captures.importers.sqs import parse_setting_pairs, read_queue_attributes

__all__ = [
    "DEFAULT_ARRIVAL_MS",
    "DEFAULT_DYNAMODB_SHARD",
    "DEFAULT_KINESIS_SHARD",
    "KAFKA_SETTING_BOOTSTRAP_SERVERS",
    "KAFKA_SETTING_SELF_MANAGED",
    "ImportResult",
    "import_files",
    "import_to_capture",
    "parse_setting_pairs",
    "read_queue_attributes",
]
