"""A DynamoDB stream record's ``SizeBytes``, recomputed from its images by DynamoDB's item-size
rules (the "Derived fact" after case D01), for importers given records without one and for
synthetic captures (:mod:`replay.testing`)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from typing import Any

_IMAGES = ("Keys", "NewImage", "OldImage")


def dynamodb_size_bytes(dynamodb: Mapping[str, Any]) -> int:
    """A DynamoDB stream record's ``SizeBytes``: attribute-name plus value bytes over ``Keys``,
    ``NewImage`` and ``OldImage`` (the "Derived fact" after D01; 20, 32, 46, 54, 70, 58 in its
    examples).

    Values follow DynamoDB's item-size rules (CapacityUnitCalculations): S is its UTF-8 length, B
    its raw (base64-decoded) length, N one byte per two significant digits plus one, BOOL and NULL
    one byte, L and M three bytes plus one byte per element plus the elements (a map element also
    counts its name). Sets (SS, NS, BS) count the sum of their members (UNCONFIRMED: the docs give
    no rule for sets).

    Raises:
        ValueError: an attribute value is not DynamoDB JSON.
    """
    total = 0
    for image in _IMAGES:
        attrs = dynamodb.get(image)
        if attrs is not None:
            total += _attributes_size(attrs, image)
    return total


def _attributes_size(attrs: Any, where: str) -> int:
    if not isinstance(attrs, Mapping):
        raise ValueError(f"{where} must be an object of attribute values")
    return sum(
        _utf8_len(name) + _value_size(value, f"{where}.{name}") for name, value in attrs.items()
    )


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def _value_size(value: Any, where: str) -> int:
    if not isinstance(value, Mapping) or len(value) != 1:
        raise ValueError(
            f"{where} is not a DynamoDB attribute value (one type key, e.g. {{'S': ...}})"
        )
    ((kind, v),) = value.items()
    try:
        return _SIZERS[kind](v, where)
    except KeyError:
        raise ValueError(f"{where} has unknown attribute type {kind!r}") from None


def _string_size(v: Any, where: str) -> int:
    if not isinstance(v, str):
        raise ValueError(f"{where}: a string value must be a JSON string")
    return _utf8_len(v)


def _number_size(v: Any, where: str) -> int:
    text = str(v).strip().lstrip("+-")
    mantissa = text.split("e")[0].split("E")[0].replace(".", "")
    if not mantissa.isdigit():
        raise ValueError(f"{where}: {v!r} is not a number")
    digits = mantissa.strip("0")
    return (len(digits) + 1) // 2 + 1


def _binary_size(v: Any, where: str) -> int:
    if isinstance(v, bytes | bytearray):
        return len(v)
    if not isinstance(v, str):
        raise ValueError(f"{where}: a binary value must be a base64 string")
    try:
        return len(base64.b64decode(v, validate=True))
    except (binascii.Error, ValueError):
        raise ValueError(f"{where}: {v[:20]!r} is not valid base64") from None


def _one_byte(v: Any, where: str) -> int:
    return 1


def _set_size(member: Callable[[Any, str], int]) -> Callable[[Any, str], int]:
    def size(v: Any, where: str) -> int:
        if not isinstance(v, list):
            raise ValueError(f"{where}: a set must be a JSON array")
        return sum(member(m, where) for m in v)

    return size


def _list_size(v: Any, where: str) -> int:
    if not isinstance(v, list):
        raise ValueError(f"{where}: L must be a JSON array")
    return 3 + sum(1 + _value_size(e, f"{where}[{i}]") for i, e in enumerate(v))


def _map_size(v: Any, where: str) -> int:
    if not isinstance(v, Mapping):
        raise ValueError(f"{where}: M must be a JSON object")
    return 3 + len(v) + _attributes_size(v, where)


_SIZERS: dict[str, Callable[[Any, str], int]] = {
    "S": _string_size,
    "N": _number_size,
    "B": _binary_size,
    "BOOL": _one_byte,
    "NULL": _one_byte,
    "SS": _set_size(_string_size),
    "NS": _set_size(_number_size),
    "BS": _set_size(_binary_size),
    "L": _list_size,
    "M": _map_size,
}
