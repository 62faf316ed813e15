"""The one JSON encoder for everything that leaves a process (HTTP bodies, WebSocket frames): pure, no adapter.

It sits at the top of the tree, below both api/ and ws/, so neither edge has to import the other to encode.
"""
from __future__ import annotations

import math
from typing import Any

import msgspec


def to_json(value: Any) -> bytes:
    """Serialise structs, dataclasses, datetimes (ISO 8601, UTC) and enums; NaN/inf never leak out.

    Parameters
    ----------
    value : Any
        msgspec-encodable data; objects with a ``to_json()`` method and dataclasses are encoded through it /
        field by field; numpy scalars become Python numbers.

    Returns
    -------
    bytes
        UTF-8 JSON. Non-finite floats are written as ``null``.

    Raises
    ------
    TypeError
        For a value of a type it does not know how to encode.
    """
    return msgspec.json.encode(value, enc_hook=_enc_hook)


def _enc_hook(value: Any) -> Any:
    if hasattr(value, "item") and hasattr(value, "dtype"):  # a numpy scalar that slipped through
        value = value.item()
        return value if not isinstance(value, float) or math.isfinite(value) else None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "to_json"):
        return value.to_json()
    if hasattr(value, "__dataclass_fields__"):
        return {k: getattr(value, k) for k in value.__dataclass_fields__}
    raise TypeError(f"cannot serialise {type(value).__name__}")
