"""esm-replay's side that touches the outside world: capture agents, importers of AWS JSON,
configuration snapshots, on-failure destination readers and inject.

Modules here may talk to AWS (boto3) or Kafka; the core in ``replay/`` never imports them. What
they produce is the capture format of :mod:`replay.formats.capture` (see docs/capture-format.md).
"""
