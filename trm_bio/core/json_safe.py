"""JSON-friendly values: NaN and infinities become None (JSON has no NaN)."""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


def json_safe(value: Any) -> Any:
    """``value`` with every non-finite float, at any depth of dicts/lists/tuples, as None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def json_safe_fields(record: DataclassInstance) -> dict[str, Any]:
    """The fields of a dataclass instance, at any depth, as a JSON-friendly dict."""
    fields: dict[str, Any] = json_safe(asdict(record))
    return fields
