"""Optional dependencies: the exact pip command that adds one, and the one-line error without it.

esm-replay's extras (``pyproject.toml``): ``kafka`` (confluent-kafka), ``dask`` (Dask
distributed), ``report`` (matplotlib); boto3 and Textual are plain dependencies, their extras
``aws`` and ``tui`` kept so that old install commands still work. A command that needs a missing
one fails with one line naming the command to run: ``pip install -e '.[EXTRA]'`` in a clone (an
editable install of a source tree), ``pip install 'esm-replay[EXTRA]'`` from a wheel.

Pure: the module to check is imported only when :func:`require` is called.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from replay.errors import UserError

# Optional dependencies: module -> (distribution, extra of esm-replay that installs it).
OPTIONAL: dict[str, tuple[str, str]] = {
    "boto3": ("boto3", "aws"),
    "confluent_kafka": ("confluent-kafka", "kafka"),
    "distributed": ("dask[distributed]", "dask"),
    "matplotlib": ("matplotlib", "report"),
    "textual": ("textual", "tui"),
}


def install_command(extra: str, *, anchor: Path | None = None) -> str:
    """The pip command that adds ``extra`` to this installation of esm-replay.

    From a clone (the packages live in a source tree with esm-replay's ``pyproject.toml``, as with
    ``pip install -e .``): ``pip install -e '.[EXTRA]' (in ROOT)``; from a wheel:
    ``pip install 'esm-replay[EXTRA]'``. ``anchor`` is a module file of one of esm-replay's
    packages (default: this one), whose grandparent is the tree looked at.
    """
    root = Path(anchor or __file__).resolve().parent.parent
    try:
        clone = 'name = "esm-replay"' in (root / "pyproject.toml").read_text(encoding="utf-8")
    except OSError:
        clone = False
    if clone:
        return f"pip install -e '.[{extra}]' (in {root})"
    return f"pip install 'esm-replay[{extra}]'"


def require(module: str, what: str, *, anchor: Path | None = None) -> None:
    """Make sure the optional dependency ``module`` (a key of :data:`OPTIONAL`) imports.

    Raises:
        UserError: it is not installed (or cannot be imported): one line naming ``what`` needs it
            and the exact install command.
    """
    dist, extra = OPTIONAL[module]
    try:
        importlib.import_module(module)
    except ImportError as exc:
        top = (getattr(exc, "name", None) or "").split(".")[0]
        missing = isinstance(exc, ModuleNotFoundError) and top in (module, dist.split("[")[0])
        why = "is not installed" if missing else f"cannot be imported ({exc})"
        raise UserError(
            f"{what} needs {dist}, which {why}; install it with: "
            f"{install_command(extra, anchor=anchor)}"
        ) from None
