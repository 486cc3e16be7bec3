"""Error types that separate a user's mistake (exit 2, one line) from a bug (traceback, exit 1)."""

from __future__ import annotations


class UserError(Exception):
    """A mistake in the user's input: bad file, field, range or reference.

    The CLI prints ``str(error)`` as one line and exits with code 2; nothing half-written is left.
    Messages name the thing (file, field, record index) and what is allowed.
    """


class CaptureError(UserError):
    """A capture directory is missing, incomplete or corrupt."""


class ConfigError(UserError):
    """An ESM configuration is invalid (unknown field, out of range, bad combination)."""


class FunctionModelError(UserError):
    """A function model (handler reference or YAML/JSON fault model) is invalid."""


class ImportFormatError(UserError):
    """An input file given to ``capture import`` is malformed."""
