"""A numpy array that grows at its end and drops its oldest values cheaply."""

from __future__ import annotations

from typing import Any

import numpy as np


class GrowingArray:
    """Values appended along the last axis, with amortised O(1) growth.

    Parameters
    ----------
    dtype : numpy dtype
        Type of the values.
    names : tuple of str
        Empty: one row of values. Else one row per name, each read as ``array[name]``, and
        every append takes one value of each.
    capacity : int
        Values held before the first growth.
    """

    def __init__(
        self, dtype: Any = np.float64, names: tuple[str, ...] = (), capacity: int = 1024
    ) -> None:
        self.names = names
        self._rows: tuple[int, ...] = (len(names),) if names else ()
        self._data = np.empty((*self._rows, capacity), dtype=dtype)
        self._start = 0
        self._stop = 0

    @property
    def size(self) -> int:
        """How many values (per row) it holds."""
        return self._stop - self._start

    def __len__(self) -> int:
        return self.size

    @property
    def view(self) -> np.ndarray:
        """The values held, oldest first (a view: valid until the next append)."""
        return self._data[..., self._start : self._stop]

    def __getitem__(self, name: str) -> np.ndarray:
        """The row of ``name`` (a view, as :attr:`view`)."""
        return self._data[self.names.index(name), self._start : self._stop]

    def _reserve(self, count: int) -> None:
        if self._stop + count <= self._data.shape[-1]:
            return
        live = self.view
        size = live.shape[-1]
        grown = np.empty((*self._rows, max(1024, 2 * size, size + count)), self._data.dtype)
        grown[..., :size] = live
        self._data, self._start, self._stop = grown, 0, size

    def append(self, value: Any) -> None:
        """Append one value (one per row when there are names)."""
        self._reserve(1)
        self._data[..., self._stop] = value
        self._stop += 1

    def extend(self, values: Any) -> None:
        """Append values along the last axis (a mapping of name to values when named)."""
        if self.names:
            values = np.stack([np.asarray(values[name]) for name in self.names])
        values = np.asarray(values)
        count = values.shape[-1]
        self._reserve(count)
        self._data[..., self._stop : self._stop + count] = values
        self._stop += count

    def drop_left(self, count: int) -> None:
        """Forget the ``count`` oldest values."""
        self._start = min(self._start + count, self._stop)
