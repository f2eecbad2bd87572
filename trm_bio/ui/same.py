"""Equality for what the screens show, with NaN equal to NaN.

A missing reading is NaN, and NaN is unequal to itself, so a plain ``==`` on a reading
with a missing value is never true: the screen then sets its labels, style sheets and
repaints at every tick although nothing changed, which costs most of the app's CPU.
"""

from __future__ import annotations

import math
from dataclasses import fields, is_dataclass
from typing import Any


def same(a: Any, b: Any) -> bool:
    """True when ``a`` and ``b`` show the same: equal, NaN matching NaN, dataclasses by field."""
    if a is b:
        return True
    if is_dataclass(a) and not isinstance(a, type):
        return type(a) is type(b) and all(
            same(getattr(a, f.name), getattr(b, f.name)) for f in fields(a)
        )
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)
