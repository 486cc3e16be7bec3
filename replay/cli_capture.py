"""``esm-replay capture kinesis|dynamodb|sqs|kafka|esm|failures`` and ``esm-replay inject``.

Thin typer adapters over the capture agents in ``captures/``, imported inside each command so the
core stays importable without boto3 or the Kafka client.
"""

from __future__ import annotations
