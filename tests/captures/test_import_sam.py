"""``capture import`` of the sample events people already have: AWS SAM's
``sam local generate-event`` templates and the Lambda console's older test events.

The fixtures under ``data/sam/`` follow the shape of aws-sam-cli's templates
(``samcli/lib/generated_sample_events/events/*.json``, rendered with their defaults), written from
memory, not copied from the SAM repository. ``kinesis-console-old.json`` is the older Kinesis
test event, without ``approximateArrivalTimestamp``. Each one is imported, then replayed, and the
events the function receives are checked against the input. A placeholder ARN
(``arn:aws:kinesis:EXAMPLE``, ``arn:aws:iam::EXAMPLE``) gives way to ``--arn`` or to a well-formed
default. A missing arrival time is taken from ``--arrival`` or from a fixed default. A note says
so in either case. A malformed real ARN is still refused.
"""

from __future__ import annotations

import base64
import copy
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from captures.importers import DEFAULT_ARRIVAL_MS, DEFAULT_DYNAMODB_SHARD, import_to_capture
from replay.engine.runner import replay
from replay.errors import ImportFormatError
from replay.events import DEFAULT_INVOKE_IDENTITY_ARN
from replay.formats.capture import read_capture
from replay.timeutil import parse_time
from replay.vocabulary import SourceKind

SAM = Path(__file__).parent / "data" / "sam"
KINESIS_SAM = SAM / "kinesis-get-records.json"
KINESIS_OLD = SAM / "kinesis-console-old.json"
DYNAMODB_SAM = SAM / "dynamodb-update.json"
SQS_SAM = SAM / "sqs-receive-message.json"
KAFKA_SAM = SAM / "kafka-msk.json"

ASSUMED_KINESIS = "arn:aws:kinesis:us-east-1:123456789012:stream/sam-example"
REAL_KINESIS = "arn:aws:kinesis:us-east-1:111111111111:stream/orders"
PLACEHOLDER_KINESIS = "eventSourceARN 'arn:aws:kinesis:EXAMPLE'"
ROLE_NOTE = (
    "invokeIdentityArn 'arn:aws:iam::EXAMPLE' ({where}) is a placeholder: rebuilt events carry "
    f"{DEFAULT_INVOKE_IDENTITY_ARN} (store the function's real role with esm-replay capture esm "
    "--into CAPTURE)"
)

RunCli = Callable[..., subprocess.CompletedProcess[str]]

EVENTS: list[dict[str, Any]] = []
"""Every event the replayed function received (see :func:`record_events`)."""


def record_events(event: dict[str, Any], context: Any) -> None:
    """The replayed function: keeps a copy of each event and succeeds."""
    EVENTS.append(json.loads(json.dumps(event)))


def replayed(capture: Path) -> list[dict[str, Any]]:
    """Replay ``capture`` (into ``<capture>-run``) with :func:`record_events`; the events it
    received, in order."""
    EVENTS.clear()
    run = replay(capture, f"{capture}-run", function=f"{__name__}:record_events")
    n = run.summary["records"]
    assert run.summary["dispositions"] == {"processed": n}
    return list(EVENTS)


def delivered_records(capture: Path) -> list[dict[str, Any]]:
    return [r for e in replayed(capture) for r in e["Records"]]


def load(path: Path) -> Any:
    return json.loads(path.read_text())


def write(path: Path, obj: Any) -> Path:
    path.write_text(json.dumps(obj, indent=1))
    return path


def form_note(path: Path, n: int) -> str:
    return f"{path}: Lambda event JSON, {n} records"


# --------------------------------------------------------------------------- the SAM templates


def test_sam_kinesis_get_records_takes_a_default_arn_and_role(tmp_path: Path) -> None:
    """``sam local generate-event kinesis get-records`` (SAM's template shape, written from
    memory): the placeholder ARN and role are replaced by well-formed defaults, with one note
    each; the record arrives as the template has it."""
    result = import_to_capture([KINESIS_SAM], tmp_path / "cap", source=SourceKind.KINESIS)
    where = f"{KINESIS_SAM}: record 0"
    assert result.notes == (
        form_note(KINESIS_SAM, 1),
        f"{PLACEHOLDER_KINESIS} ({where}) is a placeholder: assumed {ASSUMED_KINESIS} "
        "(give the real one with --arn ARN)",
        ROLE_NOTE.format(where=where),
    )
    source = result.capture.manifest.source
    assert (source.arn, source.region, source.name) == (ASSUMED_KINESIS, "us-east-1", "sam-example")
    assert result.capture.manifest.function == {}
    (template,) = load(KINESIS_SAM)["Records"]
    expected = {
        **template,
        "eventSourceARN": ASSUMED_KINESIS,
        "invokeIdentityArn": DEFAULT_INVOKE_IDENTITY_ARN,
    }
    assert delivered_records(tmp_path / "cap") == [expected]


def test_sam_kinesis_with_arn_and_region(tmp_path: Path) -> None:
    """``--arn`` replaces the placeholder (a note says so); ``--region`` places the default."""
    result = import_to_capture(
        [KINESIS_SAM], tmp_path / "a", source=SourceKind.KINESIS, arn=REAL_KINESIS
    )
    assert result.notes[1] == (
        f"{PLACEHOLDER_KINESIS} ({KINESIS_SAM}: record 0) is a placeholder: replaced by "
        f"{REAL_KINESIS}"
    )
    assert result.capture.manifest.source.arn == REAL_KINESIS
    assert delivered_records(tmp_path / "a")[0]["eventSourceARN"] == REAL_KINESIS
    eu = import_to_capture(
        [KINESIS_SAM], tmp_path / "b", source=SourceKind.KINESIS, region="eu-west-1"
    )
    assert eu.capture.manifest.source.arn == (
        "arn:aws:kinesis:eu-west-1:123456789012:stream/sam-example"
    )


def test_sam_dynamodb_update_without_creation_times(tmp_path: Path) -> None:
    """``sam local generate-event dynamodb update`` (SAM's template shape, written from memory):
    a real ARN, no ``ApproximateCreationDateTime``. The three records get the default time,
    1 ms apart in file order, and arrive with it, first in the ``dynamodb`` object."""
    result = import_to_capture([DYNAMODB_SAM], tmp_path / "cap", source=SourceKind.DYNAMODB)
    assert result.notes == (
        form_note(DYNAMODB_SAM, 3),
        f"3 records have no dynamodb.ApproximateCreationDateTime (first: {DYNAMODB_SAM}: record "
        "0): given 2015-04-09T00:00:00.000Z onward, 1 ms apart in file order (set the time with "
        "--arrival T)",
        "DynamoDB stream records do not name their shard: 3 records were put in shard "
        f"{DEFAULT_DYNAMODB_SHARD} (name it with --shard)",
    )
    cap = read_capture(tmp_path / "cap")
    assert cap.manifest.source.name == "ExampleTableWithStream"
    assert [int(t.timestamp() * 1000) for t in cap.records.column("arrival").to_pylist()] == [
        DEFAULT_ARRIVAL_MS,
        DEFAULT_ARRIVAL_MS + 1,
        DEFAULT_ARRIVAL_MS + 2,
    ]
    expected = []
    for i, rec in enumerate(load(DYNAMODB_SAM)["Records"]):
        at = (DEFAULT_ARRIVAL_MS + i) / 1000
        expected.append({**rec, "dynamodb": {"ApproximateCreationDateTime": at, **rec["dynamodb"]}})
    got = delivered_records(tmp_path / "cap")
    assert got == expected
    assert [next(iter(r["dynamodb"])) for r in got] == ["ApproximateCreationDateTime"] * 3


def test_sam_sqs_receive_message(tmp_path: Path) -> None:
    """``sam local generate-event sqs receive-message`` (SAM's template shape, written from
    memory) already imported: this keeps it so. The receipt handle and first receive are the
    replay's own."""
    result = import_to_capture([SQS_SAM], tmp_path / "cap", source=SourceKind.SQS)
    assert result.notes == (form_note(SQS_SAM, 1),)
    assert result.capture.manifest.source.name == "MyQueue"
    (template,) = load(SQS_SAM)["Records"]
    (got,) = delivered_records(tmp_path / "cap")
    assert got["receiptHandle"] != template["receiptHandle"]
    assert got["attributes"]["ApproximateFirstReceiveTimestamp"] == "1523232000000"
    for rec in (got, template):
        del rec["receiptHandle"], rec["attributes"]["ApproximateFirstReceiveTimestamp"]
    # Lambda sends md5OfMessageAttributes null for a message without attributes (S01).
    assert got == {**template, "md5OfMessageAttributes": None}


def test_sam_kafka_msk(tmp_path: Path) -> None:
    """``sam local generate-event kafka msk`` (SAM's template shape, written from memory)
    already imported: this keeps it so, event for event. Its key
    ``abcDEFghiJKLmnoPQRstuVWXyz1234==`` is not canonical base64 (the last character's unused
    bits are set); the capture keeps the bytes, and the event carries them as AWS writes them."""
    result = import_to_capture([KAFKA_SAM], tmp_path / "cap", source=SourceKind.KAFKA)
    assert result.notes == (form_note(KAFKA_SAM, 1),)
    expected = load(KAFKA_SAM)
    (record,) = expected["records"]["mytopic-0"]
    record["key"] = base64.b64encode(base64.b64decode(record["key"])).decode()
    assert record["key"] == "abcDEFghiJKLmnoPQRstuVWXyz123w=="
    assert replayed(tmp_path / "cap") == [expected]


def test_placeholder_sqs_and_kafka_arns(tmp_path: Path) -> None:
    """The same templates with ``EXAMPLE`` ARNs, as hand-written test events have them, take the
    source's default ARN."""
    sqs = load(SQS_SAM)
    sqs["Records"][0]["eventSourceARN"] = "arn:aws:sqs:EXAMPLE"
    path = write(tmp_path / "sqs.json", sqs)
    result = import_to_capture([path], tmp_path / "q", source=SourceKind.SQS)
    queue = "arn:aws:sqs:us-east-1:123456789012:sam-example"
    assert result.notes[1] == (
        f"eventSourceARN 'arn:aws:sqs:EXAMPLE' ({path}: record 0) is a placeholder: assumed "
        f"{queue} (give the real one with --arn ARN)"
    )
    assert result.capture.records.column("shard").to_pylist() == ["sam-example"]
    assert delivered_records(tmp_path / "q")[0]["eventSourceARN"] == queue

    kafka = load(KAFKA_SAM)
    kafka["eventSourceArn"] = "arn:aws:kafka:EXAMPLE"
    path = write(tmp_path / "kafka.json", kafka)
    result = import_to_capture([path], tmp_path / "k", source=SourceKind.KAFKA)
    cluster = (
        "arn:aws:kafka:us-east-1:123456789012:cluster/sam-example/"
        "00000000-0000-0000-0000-000000000000-1"
    )
    assert result.notes[1] == (
        f"eventSourceArn 'arn:aws:kafka:EXAMPLE' ({path}: record 0) is a placeholder: assumed "
        f"{cluster} (give the real one with --arn ARN)"
    )
    (event,) = replayed(tmp_path / "k")
    assert event["eventSourceArn"] == cluster


# --------------------------------------------------------------------------- old fixtures


def _old_kinesis_records(tmp_path: Path, seqs: list[int]) -> Path:
    """The old console event with one record per sequence number (file order as given)."""
    (template,) = load(KINESIS_OLD)["Records"]
    records = []
    for seq in seqs:
        rec = copy.deepcopy(template)
        rec["kinesis"]["sequenceNumber"] = str(seq)
        rec["eventID"] = f"shardId-000000000000:{seq}"
        records.append(rec)
    return write(tmp_path / "old.json", {"Records": records})


def test_old_kinesis_event_without_arrival_takes_the_default(tmp_path: Path) -> None:
    result = import_to_capture([KINESIS_OLD], tmp_path / "cap", source=SourceKind.KINESIS)
    assert result.notes[1] == (
        f"1 records have no kinesis.approximateArrivalTimestamp (first: {KINESIS_OLD}: record 0): "
        "given 2015-04-09T00:00:00.000Z (set the time with --arrival T)"
    )
    assert result.capture.manifest.source.arn == ASSUMED_KINESIS
    (got,) = delivered_records(tmp_path / "cap")
    assert got["kinesis"]["approximateArrivalTimestamp"] == DEFAULT_ARRIVAL_MS / 1000
    assert got["kinesis"]["data"] == "SGVsbG8sIHRoaXMgaXMgYSB0ZXN0IDEyMy4="


def test_old_kinesis_events_with_arrival_keep_file_order(tmp_path: Path) -> None:
    """``--arrival T``: the records without a time get T, T+1 ms, ... in file order; the ESM
    still reads them by sequence number."""
    path = _old_kinesis_records(tmp_path, [30, 10, 20])
    result = import_to_capture(
        [path], tmp_path / "cap", source=SourceKind.KINESIS, arrival="2024-05-01T12:00:00Z"
    )
    assert result.notes[1] == (
        f"3 records have no kinesis.approximateArrivalTimestamp (first: {path}: record 0): given "
        "2024-05-01T12:00:00.000Z onward, 1 ms apart in file order from --arrival"
    )
    t = parse_time("2024-05-01T12:00:00Z")
    got = delivered_records(tmp_path / "cap")
    assert [(r["kinesis"]["sequenceNumber"], r["kinesis"]["approximateArrivalTimestamp"]) for r in got] == [
        ("10", (t + 1) / 1000),
        ("20", (t + 2) / 1000),
        ("30", t / 1000),
    ]  # fmt: skip


def test_old_dynamodb_event_with_arrival_in_epoch_seconds(tmp_path: Path) -> None:
    result = import_to_capture(
        [DYNAMODB_SAM], tmp_path / "cap", source=SourceKind.DYNAMODB, arrival="1714564800"
    )
    assert result.notes[1].endswith(
        "given 2024-05-01T12:00:00.000Z onward, 1 ms apart in file order from --arrival"
    )
    got = delivered_records(tmp_path / "cap")
    assert [r["dynamodb"]["ApproximateCreationDateTime"] for r in got] == [
        1714564800.0,
        1714564800.001,
        1714564800.002,
    ]


def test_arrival_that_is_not_needed_or_not_a_time(tmp_path: Path) -> None:
    result = import_to_capture(
        [KINESIS_SAM], tmp_path / "cap", source=SourceKind.KINESIS, arrival="1714564800"
    )
    assert "--arrival applies only to records without an arrival time; all have one" in (
        result.notes
    )
    assert result.capture.records.column("arrival").to_pylist()[0].timestamp() == 1428537600
    with pytest.raises(ImportFormatError) as err:
        import_to_capture([KINESIS_OLD], tmp_path / "x", source=SourceKind.KINESIS, arrival="noon")
    assert str(err.value) == (
        "--arrival: 'noon' is not a time; use ISO-8601 (2024-05-01T12:00:00Z) or epoch seconds"
    )
    with pytest.raises(ImportFormatError) as err:
        import_to_capture([SQS_SAM], tmp_path / "x", source=SourceKind.SQS, arrival="1714564800")
    assert str(err.value) == (
        "--arrival applies to kinesis and dynamodb records, not sqs (whose records without a "
        "time are refused)"
    )
    assert not (tmp_path / "x").exists()


# --------------------------------------------------------------------------- still refused


@pytest.mark.parametrize(
    ("stated", "problem"),
    [
        (
            "arn:aws:kinesis:us-east-1:111111111111:table/orders",
            "does not name a stream (stream/NAME...)",
        ),
        (
            "arn:aws:kinesis:us-east-1:111111111111:stream/",
            "does not name a stream (stream/NAME...)",
        ),
        ("stream/orders", "is not an ARN (arn:aws:kinesis:REGION:ACCOUNT:RESOURCE)"),
        ("arn:aws:iam::EXAMPLE", "is not an ARN (arn:aws:kinesis:REGION:ACCOUNT:RESOURCE)"),
        (
            "arn:aws:dynamodb:us-east-1:111111111111:table/t/stream/x",
            "is a dynamodb ARN but --source is kinesis",
        ),
    ],
)
def test_a_malformed_real_arn_is_still_refused(tmp_path: Path, stated: str, problem: str) -> None:
    event = load(KINESIS_SAM)
    event["Records"][0]["eventSourceARN"] = stated
    path = write(tmp_path / "e.json", event)
    with pytest.raises(ImportFormatError) as err:
        import_to_capture([path], tmp_path / "cap", source=SourceKind.KINESIS)
    assert str(err.value) == f"eventSourceARN: {stated!r} {problem}"
    assert not (tmp_path / "cap").exists()


def test_a_placeholder_given_as_arn_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ImportFormatError) as err:
        import_to_capture(
            [KINESIS_SAM],
            tmp_path / "cap",
            source=SourceKind.KINESIS,
            arn="arn:aws:kinesis:EXAMPLE",
        )
    assert str(err.value) == (
        "--arn: 'arn:aws:kinesis:EXAMPLE' is not an ARN (arn:aws:kinesis:REGION:ACCOUNT:RESOURCE)"
    )


# --------------------------------------------------------------------------- the command line


def test_cli_notes_and_arrival_option(run_cli: RunCli, tmp_path: Path) -> None:
    """What the user sees: one ``note:`` line per assumption on stderr; ``--arrival``."""
    out = tmp_path / "cap"
    proc = run_cli(
        "capture", "import", str(KINESIS_OLD), "--source", "kinesis",
        "--arrival", "2024-05-01T12:00:00Z", "-o", str(out),
    )  # fmt: skip
    where = f"{KINESIS_OLD}: record 0"
    assert proc.stderr.splitlines() == [
        f"note: {form_note(KINESIS_OLD, 1)}",
        f"note: 1 records have no kinesis.approximateArrivalTimestamp (first: {where}): given "
        "2024-05-01T12:00:00.000Z from --arrival",
        f"note: {PLACEHOLDER_KINESIS} ({where}) is a placeholder: assumed {ASSUMED_KINESIS} "
        "(give the real one with --arn ARN)",
        f"note: {ROLE_NOTE.format(where=where)}",
    ]
    assert read_capture(out).manifest.window_start_ms == parse_time("2024-05-01T12:00:00Z")
    event = load(KINESIS_SAM)
    event["Records"][0]["eventSourceARN"] = "arn:aws:kinesis:us-east-1:111111111111:table/orders"
    bad = write(tmp_path / "bad.json", event)
    proc = run_cli(
        "capture", "import", str(bad), "--source", "kinesis", "-o", str(tmp_path / "no"),
        check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "error: eventSourceARN: 'arn:aws:kinesis:us-east-1:111111111111:table/orders' does not "
        "name a stream (stream/NAME...)"
    ]
    assert not (tmp_path / "no").exists()
