"""The core stays pure, and its rooms keep their direction of imports.

- No module of replay/ loads boto3, botocore, confluent_kafka or textual.
- The file formats and the analysis layer load no module of the engine: reading a run never pulls
  in the simulation (the static half of these rules is import-linter, `lint-imports`).

Each module is imported in a fresh interpreter, because a static check cannot see a deferred import
and because another test in this process may already have loaded those packages.
"""

import json
import pkgutil
import subprocess
import sys

import pytest

import replay

FORBIDDEN = ("boto3", "botocore", "confluent_kafka", "textual")
CORE_MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(replay.__path__, "replay.")
    if not m.name.endswith("__main__")
)
ENGINE_FREE = sorted(m for m in CORE_MODULES if m.startswith(("replay.formats", "replay.analysis")))


def _loaded(module: str, prefixes: tuple[str, ...]) -> list[str]:
    code = (
        f"import sys, json, {module}\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.startswith({prefixes!r}))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return list(json.loads(out.stdout))


def test_every_core_module_is_checked() -> None:
    assert {
        "replay.engine.streams",
        "replay.engine.runner",
        "replay.cli.main",
        "replay.formats.capture",
        "replay.analysis.compare",
    } <= set(CORE_MODULES)


@pytest.mark.parametrize("module", ["replay", *CORE_MODULES])
def test_core_module_imports_no_aws_kafka_or_ui(module: str) -> None:
    loaded = [m for m in _loaded(module, FORBIDDEN) if m.split(".")[0] in FORBIDDEN]
    assert loaded == [], f"{module} loads {loaded}"


@pytest.mark.parametrize("module", ENGINE_FREE)
def test_formats_and_analysis_load_no_engine(module: str) -> None:
    assert _loaded(module, ("replay.engine",)) == [], f"{module} loads the engine"
