"""What the capture commands share: their options (AWS endpoint, window, redaction, Kafka), the
one-line printer, the missing-dependency check, per-shard progress bars and the summary line.

Everything printed here may hold user text (paths, names, ARNs, values), so it is printed without
rich markup: ``[/x]`` in a path neither crashes the printer nor vanishes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from replay.cli.app import err_console
from replay.cli.app import say as say  # the capture commands import the printer from here
from replay.vocabulary import SourceKind

if TYPE_CHECKING:
    from captures.aws import AwsOptions
    from captures.common import ProgressFn, ShardProgress
    from captures.redact import Redactor


EndpointOpt = Annotated[
    str | None,
    typer.Option(
        "--endpoint-url", help="Send AWS calls to this URL (LocalStack, moto, a VPC endpoint)."
    ),
]
ProfileOpt = Annotated[
    str | None, typer.Option("--profile", help="AWS profile (standard chain otherwise).")
]
RegionOpt = Annotated[
    str | None, typer.Option("--region", help="AWS region (default: the ARN's or the profile's).")
]
OutOpt = Annotated[
    str, typer.Option("--out", "-o", help="Capture directory or s3://bucket/prefix to write.")
]
# --from/--to name the window; --start/--until (replay's words for its time span) work too.
FromOpt = Annotated[
    str,
    typer.Option("--from", "--start", help="Window start: ISO-8601 or epoch seconds."),
]
ToOpt = Annotated[
    str,
    typer.Option("--to", "--until", help="Window end: ISO-8601, epoch seconds or 'now'."),
]
ResumeOpt = Annotated[
    bool, typer.Option("--resume", help="Continue an interrupted capture at OUT.")
]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Replace OUT if it exists.")]
RedactOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--redact",
        help="Redact before writing: $.json.path, attribute:NAME, header:NAME or key; "
        "append =hash for a keyed stable hash or =mask (the default); a target containing '=' "
        "needs the method written out ($.a=b=mask). Rules that match nothing are reported. "
        "Repeatable.",
    ),
]
RedactKeyOpt = Annotated[
    str, typer.Option("--redact-key-env", help="Environment variable holding the hash key.")
]
KafkaConfigOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--kafka-config", help="librdkafka setting K=V (security.protocol, sasl.*...). Repeatable."
    ),
]
# The Kafka client's own word first; --bootstrap (the short spelling) works too.
BOOTSTRAP = ("--bootstrap-servers", "--bootstrap")
BootstrapOpt = Annotated[
    str | None, typer.Option(*BOOTSTRAP, help="Kafka bootstrap servers: HOST:PORT,...")
]


def need(module: str, what: str) -> None:
    """Fail with one line naming the install command when an optional dependency is missing."""
    from replay.extras import require

    require(module, what)


def aws_options(endpoint_url: str | None, profile: str | None, region: str | None) -> AwsOptions:
    from captures.aws import AwsOptions

    return AwsOptions(endpoint_url=endpoint_url, profile=profile, region=region)


def redactor_for(
    specs: list[str] | None,
    key_env: str,
    *,
    out: str | None = None,
    resume: bool = False,
    kind: SourceKind | None = None,
    endpoint_url: str | None = None,
) -> Redactor | None:
    """The ``--redact`` rules (checked before anything is read). With ``--resume`` they must be
    the capture's, and the records already written are counted (so that the warnings and the
    manifest cover the whole capture)."""
    from captures.redact import DEFAULT_KEY_ENV, Redactor, resume_redaction

    redactor = Redactor.build(specs or [], key_env=key_env or DEFAULT_KEY_ENV)
    if resume and out is not None and kind is not None:
        resume_redaction(redactor, out, kind, endpoint_url=endpoint_url)
    return redactor


def report_unmatched(redactor: Redactor | None) -> None:
    """One warning line on stderr per ``--redact`` rule that matched nothing."""
    for line in redactor.warnings() if redactor is not None else []:
        say(line, err=True)


@contextmanager
def shard_bars() -> Iterator[ProgressFn]:
    """One rich progress bar per shard: records captured and lag behind the tip."""
    bars = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:>9,.0f} records"),
        TextColumn("{task.fields[lag]}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
        disable=not err_console.is_terminal,
    )
    tasks: dict[str, TaskID] = {}
    lock = threading.Lock()

    def report(p: ShardProgress) -> None:
        lag = "" if p.lag_ms is None else f"lag {p.lag_ms:,}"
        with lock:
            if p.shard not in tasks:
                tasks[p.shard] = bars.add_task(escape(p.shard), total=None, lag="")
            task = tasks[p.shard]
        total = p.records if p.done else None
        bars.update(task, completed=p.records, total=total, lag="done" if p.done else lag)

    with bars:
        yield report


def summary(capture: object, what: str) -> None:
    from replay.formats.capture import Capture

    assert isinstance(capture, Capture)
    shards = len(capture.manifest.shards)
    say(
        f"{what}: {capture.records.num_rows} records in {shards} shard(s) written to {capture.path}"
    )
