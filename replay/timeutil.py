"""Virtual time helpers.

The engine's clock is an integer count of milliseconds since the Unix epoch (UTC): the precision
of Kinesis arrival timestamps, exact in int64, and free of float drift. These helpers convert it to
the textual forms AWS uses in events and on-failure records.
"""

from __future__ import annotations

import datetime as _dt
import itertools
from typing import Any

from replay.errors import UserError

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)


def to_datetime(ms: int) -> _dt.datetime:
    """Return the UTC datetime of a virtual timestamp."""
    return _EPOCH + _dt.timedelta(milliseconds=ms)


def iso_ms(ms: int) -> str:
    """ISO-8601 UTC with milliseconds, as in Kinesis failure records: ``2019-11-14T00:38:04.835Z``."""
    d = to_datetime(ms)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


def iso_s(ms: int) -> str:
    """ISO-8601 UTC with second precision, as in DynamoDB failure records: ``2019-11-14T00:13:19Z``."""
    return to_datetime(ms).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch_seconds(ms: int) -> float:
    """Epoch seconds as a float with millisecond precision (Kinesis ``approximateArrivalTimestamp``)."""
    return ms / 1000


def parse_time(value: str | float | int, *, field: str = "time") -> int:
    """Parse ISO-8601 (``Z`` or offset; naive means UTC) or epoch seconds into virtual ms.

    Raises:
        UserError: naming ``field`` when the value is neither form.
    """
    if isinstance(value, bool):
        raise UserError(f"{field}: expected ISO-8601 or epoch seconds, got {value!r}")
    if isinstance(value, int | float):
        return round(float(value) * 1000)
    text = value.strip()
    try:
        return round(float(text) * 1000)
    except ValueError:
        pass
    try:
        d = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UserError(
            f"{field}: {value!r} is not a time; use ISO-8601 (2024-05-01T12:00:00Z) or epoch seconds"
        ) from None
    if d.tzinfo is None:
        d = d.replace(tzinfo=_dt.UTC)
    return round((d - _EPOCH).total_seconds() * 1000)


def parse_spans(values: list[str], *, field: str) -> tuple[tuple[int, int], ...]:
    """Parse ``FROM..TO`` spans (each end ISO-8601 or epoch seconds) into sorted ms pairs.

    Raises:
        UserError: naming ``field`` when a span is malformed, empty or overlaps another.
    """
    spans: list[tuple[int, int]] = []
    for text in values:
        start, sep, end = text.partition("..")
        if not sep or not start.strip() or not end.strip():
            raise UserError(
                f"{field} {text!r}: expected FROM..TO, e.g. 2024-11-05T10:00:00Z..2024-11-05T10:30:00Z"
            )
        a = parse_time(start, field=f"{field} {text!r}: FROM")
        b = parse_time(end, field=f"{field} {text!r}: TO")
        if b <= a:
            raise UserError(f"{field} {text!r}: TO must be after FROM")
        spans.append((a, b))
    spans.sort()
    for (_, b1), (a2, _) in itertools.pairwise(spans):
        if a2 < b1:
            raise UserError(f"{field}: spans overlap; give each disabled period once")
    return tuple(spans)


def parse_iso_ms(value: Any) -> int | None:
    """ISO-8601 text (``Z`` or an offset; naive means UTC) as epoch ms; None for anything else."""
    if not isinstance(value, str):
        return None
    try:
        d = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if d.tzinfo is None:
        d = d.replace(tzinfo=_dt.UTC)
    return round(d.timestamp() * 1000)
