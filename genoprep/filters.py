"""What a filter removed, said on the terminal, and the guard against losing most of the data.

Every modality's filter steps describe themselves as :class:`FilterStep` records (in the
order they ran). :func:`summary_line` turns them into the one line per dataset printed on
the terminal; :func:`guard` stops the run when less than ``min_fraction_kept`` of the rows
(cells, samples, sequences, variants) survive, naming the filter that removed the most,
the numbers, and the data's own distribution so that the user can choose a threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from genoprep.errors import InputError


@dataclass(frozen=True)
class FilterStep:
    """One filter as it ran: ``before`` → ``after`` items of ``unit``.

    ``threshold`` says the rule (``"max_pct_mito <= 5"``), ``distribution`` the data's own
    values of the filtered quantity (see :func:`describe`), empty when not applicable.
    """

    name: str
    unit: str
    before: int
    after: int
    threshold: str = ""
    distribution: str = ""

    @property
    def removed(self) -> int:
        return self.before - self.after


def describe(values: np.ndarray | Sequence[float], label: str) -> str:
    """``"<label>: median 11.2, 10th percentile 3.1, 90th percentile 19.5 (n=200)"``."""
    array = np.asarray(values, dtype=np.float64)
    array = array[np.isfinite(array)]
    if array.size == 0:
        return f"{label}: no values"
    p10, median, p90 = np.percentile(array, [10, 50, 90])
    return f"{label}: median {median:.4g}, 10th percentile {p10:.4g}, 90th percentile {p90:.4g} (n={array.size})"


def summary_line(dataset: str, steps: Sequence[FilterStep]) -> str:
    """One line per dataset: what each filter removed, grouped by unit, in the order they ran."""
    if not steps:
        return f"{dataset}: no filters ran"
    parts = []
    for unit in dict.fromkeys(step.unit for step in steps):
        of_unit = [s for s in steps if s.unit == unit]
        first, last = of_unit[0].before, of_unit[-1].after
        removed = ", ".join(f"{s.name} -{s.removed}" for s in of_unit if s.removed)
        parts.append(f"kept {last} of {first} {unit}" + (f" ({removed})" if removed else ""))
    return f"{dataset}: " + "; ".join(parts)


def guard(source: str, steps: Sequence[FilterStep], unit: str, min_fraction_kept: float | None) -> None:
    """Raise :class:`InputError` when fewer than ``min_fraction_kept`` of the ``unit`` rows survive.

    The message names the filter that removed the most, its numbers and threshold, the
    data's distribution for it, and the card field that sets the guard.
    """
    of_unit = [s for s in steps if s.unit == unit]
    if min_fraction_kept is None or not of_unit or of_unit[0].before == 0:
        return
    first, last = of_unit[0].before, of_unit[-1].after
    if last >= min_fraction_kept * first:
        return
    worst = max(of_unit, key=lambda s: s.removed)
    detail = f" ({worst.threshold})" if worst.threshold else ""
    spread = f"; {worst.distribution}" if worst.distribution else ""
    raise InputError(
        source,
        f"the filters kept {last} of {first} {unit} ({last / first:.1%}, below params.min_fraction_kept "
        f"{min_fraction_kept:g}); {worst.name}{detail} removed the most: {worst.removed} of {worst.before}"
        f"{spread}; loosen that threshold or lower min_fraction_kept",
        record="filters",
    )
