"""A capture is checked on read: parts against the manifest's rows and sha256, unique records,
shard counts, every manifest field typed. A damaged capture is one line (exit 2 from the CLI),
never a traceback and never a replay of changed data."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from replay.errors import CaptureError
from replay.formats.capture import Capture, read_capture, write_capture
from replay.testing import make_capture, rec

SHARDS = ("shardId-000000000000", "shardId-000000000001")


def _capture(path: Path, n: int = 20) -> Capture:
    cap = make_capture([rec(f"k{i}", {"n": i}, at=i, shard=SHARDS[i % 2]) for i in range(n)])
    return write_capture(path, cap.manifest, cap.records)


def _two_parts(path: Path) -> Path:
    """A capture whose records are in two parts, as a live capture writes them."""
    from replay.formats.capture import encode_part, part_info

    cap = _capture(path)
    manifest = json.loads((path / "manifest.json").read_text())
    part = path / "records" / "part-00000.parquet"
    table = pq.read_table(part)
    halves = [table.slice(0, 12), table.slice(12)]
    part.unlink()
    manifest["parts"] = []
    for i, half in enumerate(halves):
        data = encode_part(half)
        name = f"part-{i:05d}.parquet"
        (path / "records" / name).write_bytes(data)
        info = part_info(name, data, half.num_rows)
        manifest["parts"].append({"file": info.file, "rows": info.rows, "sha256": info.sha256})
    (path / "manifest.json").write_text(json.dumps(manifest))
    assert read_capture(path).records.equals(cap.records)
    return path


def _edit_manifest(path: Path, **changes: Any) -> None:
    doc = json.loads((path / "manifest.json").read_text())
    for dotted, value in changes.items():
        node = doc
        *parents, last = dotted.split("__")
        for p in parents:
            node = node[int(p)] if p.isdigit() else node[p]
        node[int(last) if last.isdigit() else last] = value
    (path / "manifest.json").write_text(json.dumps(doc))


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "replay.cli", *args], capture_output=True, text=True, timeout=120
    )


def test_a_deleted_part_is_refused(tmp_path: Path) -> None:
    path = _two_parts(tmp_path / "cap")
    (path / "records" / "part-00001.parquet").unlink()
    with pytest.raises(
        CaptureError, match=r"part-00001.parquet: listed in manifest.json but missing"
    ):
        read_capture(path)


def test_a_duplicated_part_is_refused(tmp_path: Path) -> None:
    path = _two_parts(tmp_path / "cap")
    shutil.copy(path / "records" / "part-00001.parquet", path / "records" / "part-00002.parquet")
    with pytest.raises(CaptureError, match=r"part-00002\.parquet: not listed in manifest\.json"):
        read_capture(path)


def test_a_flipped_bit_is_refused(tmp_path: Path) -> None:
    path = _capture(tmp_path / "cap").path
    part = path / "records" / "part-00000.parquet"
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0x10
    part.write_bytes(bytes(data))
    with pytest.raises(CaptureError, match="do not match the sha256"):
        read_capture(path)


def test_duplicate_records_are_refused_even_without_checksums(tmp_path: Path) -> None:
    """A capture written before parts were listed: the (shard, pos) rule still holds on read."""
    path = _capture(tmp_path / "cap").path
    _edit_manifest(path, parts=[])
    shutil.copy(path / "records" / "part-00000.parquet", path / "records" / "part-00001.parquet")
    with pytest.raises(CaptureError, match=r"\(shard, pos\) must be unique"):
        read_capture(path)


def test_shard_counts_are_held_to_the_manifest(tmp_path: Path) -> None:
    path = _capture(tmp_path / "cap").path
    _edit_manifest(path, shards__0__records=11)
    with pytest.raises(CaptureError, match=r"has 10 records, manifest\.json says 11"):
        read_capture(path)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"shards__0__records": "abc"}, "shards[0].records must be a whole number ≥ 0, not 'abc'"),
        ({"source__fifo": "no"}, "source.fifo must be true or false, not 'no'"),
        ({"esm": ["abc"]}, "esm[0] must be an object (an ESM configuration), not 'abc'"),
        ({"function": {"Timeout": "30"}}, "function.Timeout must be a number of seconds"),
        ({"function": {"Timeout": -3}}, "function.Timeout must be a number of seconds, 1 to 900"),
        ({"checkpoints": ["a"]}, "checkpoints must be an object, not ['a']"),
        ({"complete": "yes"}, "complete must be true or false"),
        ({"shards": {"id": 1}}, "shards must be a list"),
        ({"window__start": "2030-01-01T00:00:00Z"}, "window.start is after window.end"),
        (
            {"source__arn": "arn:aws:sqs:us-east-1:1:q"},
            "source.kind is kinesis but source.arn is a sqs ARN",
        ),
        ({"parts__0__sha256": "xyz"}, "parts[0].sha256 must be 64 hex digits"),
        ({"parts__0__file": "../evil.parquet"}, "parts[0].file must be a .parquet file name"),
    ],
)
def test_a_malformed_manifest_is_one_line_naming_the_field(
    tmp_path: Path, changes: dict[str, Any], message: str
) -> None:
    path = _capture(tmp_path / "cap").path
    _edit_manifest(path, **changes)
    out = cli("replay", str(path), "-o", str(tmp_path / "run"))
    assert out.returncode == 2, out.stderr
    assert message in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    assert not (tmp_path / "run").exists()


def test_a_directory_named_like_a_part_is_one_line(tmp_path: Path) -> None:
    path = _capture(tmp_path / "cap").path
    (path / "records" / "odd.parquet").mkdir()
    out = cli("replay", str(path), "-o", str(tmp_path / "run"))
    assert out.returncode == 2 and "odd.parquet" in out.stderr and "Traceback" not in out.stderr


# ---------------------------------------------------------------------- random corruption
@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pa.Table]:
    path = _two_parts(tmp_path_factory.mktemp("pristine") / "cap")
    return path, read_capture(path).records


MANIFEST_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 10**6), st.text(max_size=8),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)  # fmt: skip


def _mutate_json(doc: Any, path: list[int], value: Any) -> Any:
    """Replace the node reached by walking ``path`` (indices into dict keys / list items)."""
    if not path or not isinstance(doc, dict | list) or not doc:
        return value
    keys = list(doc) if isinstance(doc, dict) else list(range(len(doc)))
    key = keys[path[0] % len(keys)]
    doc[key] = _mutate_json(doc[key], path[1:], value)
    return doc


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    target=st.sampled_from(["part", "manifest-bytes", "manifest-field", "delete", "copy"]),
    where=st.integers(0, 10**9),
    bit=st.integers(0, 7),
    path=st.lists(st.integers(0, 50), min_size=1, max_size=4),
    value=MANIFEST_VALUES,
)
def test_random_damage_is_caught_or_harmless(
    pristine: tuple[Path, pa.Table], tmp_path_factory: pytest.TempPathFactory,
    target: str, where: int, bit: int, path: list[int], value: Any,
) -> None:  # fmt: skip
    """Whatever is damaged, a read gives the original records or one CaptureError line."""
    source, records = pristine
    cap = tmp_path_factory.mktemp("damaged") / "cap"
    shutil.copytree(source, cap)
    parts = sorted((cap / "records").glob("*.parquet"))
    if target == "part":
        victim = parts[where % len(parts)]
        data = bytearray(victim.read_bytes())
        data[where % len(data)] ^= 1 << bit
        victim.write_bytes(bytes(data))
    elif target == "manifest-bytes":
        data = bytearray((cap / "manifest.json").read_bytes())
        data[where % len(data)] ^= 1 << bit
        (cap / "manifest.json").write_bytes(bytes(data))
    elif target == "manifest-field":
        doc = json.loads((cap / "manifest.json").read_text())
        (cap / "manifest.json").write_text(json.dumps(_mutate_json(doc, path, value)))
    elif target == "delete":
        parts[where % len(parts)].unlink()
    else:
        shutil.copy(parts[where % len(parts)], cap / "records" / "part-00009.parquet")
    try:
        got = read_capture(cap)
    except CaptureError as exc:
        assert "\n" not in str(exc)
        return
    assert got.records.equals(records)


def test_capture_verify_says_ok_or_names_the_fault(tmp_path: Path) -> None:
    path = _two_parts(tmp_path / "cap")
    ok = cli("capture", "verify", str(path))
    assert ok.returncode == 0
    assert ok.stdout.strip() == (
        f"{path}: OK, 20 records in 2 shard(s); 2 part(s), each matching its sha256; "
        "records unique; complete"
    )
    (path / "records" / "part-00001.parquet").unlink()
    bad = cli("capture", "verify", str(path))
    assert (
        bad.returncode == 2
        and "part-00001.parquet: listed in manifest.json but missing" in bad.stderr
    )


def test_checkpoints_that_disagree_with_the_records_are_refused(tmp_path: Path) -> None:
    path = _capture(tmp_path / "cap").path
    _edit_manifest(path, checkpoints={SHARDS[0]: "1"})
    with pytest.raises(CaptureError, match=r"checkpoints says shardId-000000000000 ends at 1"):
        read_capture(path)


def test_parts_of_incompatible_schemas_are_one_line(tmp_path: Path) -> None:
    path = _capture(tmp_path / "cap").path
    _edit_manifest(path, parts=[])
    pq.write_table(pa.table({"shard": [1], "seq": [2.5]}), path / "records" / "part-00001.parquet")
    with pytest.raises(CaptureError, match=r"incompatible schemas|column"):
        read_capture(path)
