"""AWS clients for the capture agents, and AWS errors turned into one-line user errors.

Credentials come from the standard chain (environment, ``--profile``, config files, instance
role); nothing here ever reads, stores or prints them, and no capture field is filled from them.
``--endpoint-url`` points every client at another server (moto in the tests, LocalStack...).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from replay import extras
from replay.errors import UserError

# Errors that mean "try again later" rather than "you asked for something wrong".
THROTTLES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "LimitExceededException",
        "ThrottlingException",
        "Throttling",
        "RequestLimitExceeded",
        "KMSThrottlingException",
    }
)


def install_command(extra: str) -> str:
    """The pip command that adds ``extra`` to the installation ``captures/`` belongs to (a clone's
    ``pip install -e '.[EXTRA]'`` or a wheel's ``pip install 'esm-replay[EXTRA]'``; see
    :func:`replay.extras.install_command`)."""
    return extras.install_command(extra, anchor=Path(__file__))


def require(module: str, what: str) -> None:
    """Make sure the optional dependency ``module`` (``boto3``, ``confluent_kafka``) imports.

    Raises:
        UserError: it is not installed (or cannot be imported): one line naming ``what`` needs it
            and the exact install command.
    """
    extras.require(module, what, anchor=Path(__file__))


class NetworkError(UserError):
    """The endpoint could not be reached or dropped the connection (a capture can be resumed)."""


@dataclass(frozen=True)
class AwsOptions:
    """Where and as whom to call AWS: ``--endpoint-url``, ``--profile``, ``--region``.

    Attributes:
        endpoint_url: send every call to this URL instead of the AWS endpoint.
        profile: a named profile of the shared config files.
        region: the region; else the ARN's, else the profile's or environment's.
        max_attempts: botocore's attempts per call (retries of 5xx and connection errors).
    """

    endpoint_url: str | None = None
    profile: str | None = None
    region: str | None = None
    max_attempts: int = 3

    def with_region(self, region: str | None) -> AwsOptions:
        """These options with ``region`` when none was given explicitly."""
        if self.region or not region:
            return self
        return AwsOptions(self.endpoint_url, self.profile, region, self.max_attempts)

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` (thread-safe once created).

        Raises:
            UserError: boto3 is not installed, the profile does not exist, or no region is known.
        """
        require("boto3", f"AWS access ({service})")
        import boto3
        import botocore.config
        import botocore.exceptions

        try:
            session = boto3.Session(profile_name=self.profile, region_name=self.region)
        except botocore.exceptions.ProfileNotFound:
            raise UserError(f"--profile {self.profile!r}: no such profile") from None
        if session.region_name is None:
            raise UserError(
                "no AWS region: pass --region, use an ARN, or set AWS_REGION / a profile region"
            )
        config = botocore.config.Config(
            retries={"max_attempts": self.max_attempts, "mode": "standard"},
            connect_timeout=5,
            read_timeout=60,
            max_pool_connections=32,
        )
        return session.client(service, endpoint_url=self.endpoint_url, config=config)


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a botocore ``ClientError`` (None for anything else)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code is not None else None
    return None


def is_throttle(exc: BaseException) -> bool:
    """Whether ``exc`` asks the caller to slow down (back off and retry)."""
    return error_code(exc) in THROTTLES


def is_network(exc: BaseException) -> bool:
    """Whether ``exc`` is a connection-level failure (endpoint down, reset, timeout)."""
    import botocore.exceptions as bex

    return isinstance(
        exc,
        bex.EndpointConnectionError
        | bex.ConnectionClosedError
        | bex.ReadTimeoutError
        | bex.ConnectTimeoutError,
    )


def user_error(exc: BaseException, what: str) -> UserError | None:
    """The one-line user error for an AWS failure while doing ``what``, or None if it is a bug."""
    import botocore.exceptions as bex

    if isinstance(exc, UserError):
        return exc
    if isinstance(exc, bex.NoCredentialsError | bex.PartialCredentialsError):
        return UserError(f"{what}: no AWS credentials found (environment, --profile, config files)")
    if isinstance(exc, bex.NoRegionError):
        return UserError(f"{what}: no AWS region; pass --region")
    if is_network(exc):
        return NetworkError(f"{what}: cannot reach the endpoint ({exc})")
    if isinstance(exc, bex.ClientError):
        code = error_code(exc) or "error"
        message = exc.response.get("Error", {}).get("Message") or str(exc)
        return UserError(f"{what}: {code}: {' '.join(str(message).split())}")
    if isinstance(exc, bex.ParamValidationError):
        return UserError(f"{what}: {' '.join(str(exc).split())}")
    return None


@contextmanager
def aws_errors(what: str) -> Iterator[None]:
    """Turn AWS failures inside the block into one-line :class:`UserError` s naming ``what``."""
    try:
        yield
    except Exception as exc:
        mapped = user_error(exc, what)
        if mapped is None or mapped is exc:
            raise
        raise mapped from None


@dataclass(frozen=True)
class Arn:
    """The parts of an ARN: ``arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE``."""

    partition: str
    service: str
    region: str
    account: str
    resource: str

    @staticmethod
    def parse(text: str) -> Arn | None:
        """The ARN's parts, or None when ``text`` is not an ARN."""
        parts = text.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn":
            return None
        return Arn(parts[1], parts[2], parts[3], parts[4], parts[5])

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"


def named_arn(
    aws: AwsOptions, text: str, service: str, refusal: str, *, resource_prefix: str = ""
) -> tuple[Arn | None, AwsOptions]:
    """When ``text`` is an ARN: its parts (refused unless of ``service`` with a resource starting
    ``resource_prefix``: "TEXT: REFUSAL") and the options in its region; else (None, aws)."""
    arn = Arn.parse(text)
    if arn is None:
        return None, aws
    if arn.service != service or not arn.resource.startswith(resource_prefix):
        raise UserError(f"{text}: {refusal}")
    return arn, aws.with_region(arn.region)
