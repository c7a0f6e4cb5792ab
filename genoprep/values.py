"""One check of matrix values against what the card says they are (counts, non-negative, any).

Bulk RNA-seq and scRNA-seq both refuse a matrix that does not hold what ``input.value_type``
says, with one line naming a record that holds an offending value. The modality supplies
where a flat position is (``locate``) and what to suggest (``hints``); the rules are here.
The scan is one numba pass over the values with no temporary arrays (an scRNA-seq matrix
may hold hundreds of millions of stored values).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Literal

import numba
import numpy as np

from genoprep.errors import InputError

#: ``counts``: non-negative integers (possibly stored as floats); ``non_negative``: >= 0
#: (TPM, FPKM, log-normalised values); ``finite``: any finite number (log values).
ValueKind = Literal["counts", "non_negative", "finite"]
#: The problems :func:`check_values` names, in the order it looks for them.
PROBLEMS = ("not_finite", "negative", "not_integer")
_OK = -1  # :func:`_first_bad_value`'s code when every value is fine; else an index into PROBLEMS


@numba.njit(cache=True)
def _first_bad_value(data: np.ndarray, non_negative: bool, integers: bool) -> tuple[int, int]:
    """``(position, index into PROBLEMS)`` of the first value that is not finite, else of the first
    negative one (``non_negative``), else of the first that is not whole (``integers``); ``(-1, _OK)``."""
    negative = -1
    fraction = -1
    for j in range(data.size):
        value = data[j]
        if not np.isfinite(value):
            return j, 0
        if value < 0:
            if negative < 0:
                negative = j
        elif fraction < 0 and value != np.floor(value):
            fraction = j
    if non_negative and negative >= 0:
        return negative, 1
    if integers and fraction >= 0:
        return fraction, 2
    return -1, _OK


def check_values(
    values: np.ndarray,
    kind: ValueKind,
    source: str,
    locate: Callable[[int], str],
    hints: Mapping[str, str] | None = None,
) -> None:
    """Raise :class:`InputError` at the first value that is not of ``kind``.

    ``values`` is any array (a dense matrix, or the stored values of a sparse one); the
    first offending value in C order is reported as ``value <v> <problem>[: <hint>]`` with
    ``record=locate(flat position)``. Checked in order: finite (every kind), non-negative
    (``counts``, ``non_negative``), integer (``counts``). ``hints`` maps a problem of
    :data:`PROBLEMS` to advice for the user.
    """
    flat = np.asarray(values).ravel()
    if flat.dtype.kind != "f":  # the kernel is compiled for float32 and float64 arrays
        flat = flat.astype(np.float64)
    position, problem = _first_bad_value(flat, kind in ("counts", "non_negative"), kind == "counts")
    if problem == _OK:
        return
    name = PROBLEMS[problem]
    text = {"not_finite": "is not a finite number", "negative": "is negative", "not_integer": "is not an integer"}[name]
    hint = f": {hints[name]}" if hints and name in hints else ""
    raise InputError(source, f"value {flat[position]:g} {text}{hint}", record=locate(position))


def load_npy(path: str | os.PathLike[str], source: str, holds: str = "numbers") -> np.ndarray:
    """A ``.npy`` array, never unpickled: an object array (``holds`` says what it should hold
    instead) or an unreadable file is one line naming the file."""
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as err:
        detail = " ".join(str(err).split())
        if "allow_pickle" in detail:
            detail = f"it holds Python objects (a pickled object array), not {holds}"
        raise InputError(source, f"not a readable .npy array: {detail[:200]}") from None
    except (OSError, EOFError) as err:
        raise InputError(source, f"not a readable .npy array: {' '.join(str(err).split())[:200]}") from None
