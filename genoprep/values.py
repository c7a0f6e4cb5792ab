"""One check of matrix values against what the card says they are (counts, non-negative, any).

Bulk RNA-seq and scRNA-seq both refuse a matrix that does not hold what ``input.value_type``
says, with one line naming a record that holds an offending value. The modality supplies
where a flat position is (``locate``) and what to suggest (``hints``); the rules are here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Literal

import numpy as np

from genoprep.errors import InputError

#: ``counts``: non-negative integers (possibly stored as floats); ``non_negative``: >= 0
#: (TPM, FPKM, log-normalised values); ``finite``: any finite number (log values).
ValueKind = Literal["counts", "non_negative", "finite"]
#: The problems :func:`check_values` names, in the order it looks for them.
PROBLEMS = ("not_finite", "negative", "not_integer")


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
    hints = hints or {}

    def refuse(mask: np.ndarray, problem: str, text: str) -> None:
        position = int(np.flatnonzero(mask)[0])
        hint = f": {hints[problem]}" if problem in hints else ""
        raise InputError(source, f"value {flat[position]:g} {text}{hint}", record=locate(position))

    finite = np.isfinite(flat)
    if not finite.all():
        refuse(~finite, "not_finite", "is not a finite number")
    if kind == "finite":
        return
    negative = flat < 0
    if negative.any():
        refuse(negative, "negative", "is negative")
    if kind == "counts":
        fractional = flat != np.round(flat)
        if fractional.any():
            refuse(fractional, "not_integer", "is not an integer")
