"""genoprep.filters against hand-computed lines (kills the mutants `make mutants` found surviving).

Every expectation below is worked out by hand from the documented behaviour, not read back
from the code: numpy's default (linear) percentile of 1..10 is 1.9 / 5.5 / 9.1, the guard's
comparison is "kept >= min_fraction_kept * before" (exactly at the fraction passes).
"""

from __future__ import annotations

import math

import pytest

from genoprep.errors import InputError
from genoprep.filters import FilterStep, describe, guard, summary_line


def test_removed_is_before_minus_after() -> None:
    assert FilterStep("f", "cells", 10, 7).removed == 3
    assert FilterStep("f", "cells", 5, 5).removed == 0


def test_describe_percentiles_by_hand() -> None:
    # 1..10: 10th percentile at index 0.9 -> 1.9, median 5.5, 90th at index 8.1 -> 9.1
    assert describe(list(range(1, 11)), "genes") == (
        "genes: median 5.5, 10th percentile 1.9, 90th percentile 9.1 (n=10)"
    )


def test_describe_drops_non_finite_values() -> None:
    values = [float("nan"), 4.0, math.inf, 2.0, -math.inf, 6.0]
    # finite values 2, 4, 6: p10 = 2 + 0.2*2 = 2.4, median 4, p90 = 4 + 0.8*2 = 5.6, n=3
    assert describe(values, "pct") == "pct: median 4, 10th percentile 2.4, 90th percentile 5.6 (n=3)"


def test_describe_four_significant_digits() -> None:
    assert (
        describe([123456.0], "x") == "x: median 1.235e+05, 10th percentile 1.235e+05, 90th percentile 1.235e+05 (n=1)"
    )
    assert describe([0.123456], "x") == "x: median 0.1235, 10th percentile 0.1235, 90th percentile 0.1235 (n=1)"


@pytest.mark.parametrize("values", [[], [float("nan")], [math.inf, -math.inf]])
def test_describe_without_finite_values(values: list[float]) -> None:
    assert describe(values, "depth") == "depth: no values"


def test_summary_line_no_steps() -> None:
    assert summary_line("ds", []) == "ds: no filters ran"


def test_summary_line_groups_units_in_order_of_first_appearance() -> None:
    steps = [
        FilterStep("min_genes", "cells", 100, 90),
        FilterStep("min_cells", "genes", 500, 500),
        FilterStep("max_pct_mito", "cells", 90, 80),
        FilterStep("hvg", "genes", 500, 450),
        FilterStep("doublets", "cells", 80, 80),
    ]
    # cells: 100 -> 80 (doublets removed none: not named); genes: 500 -> 450 (min_cells removed none)
    assert summary_line("ds", steps) == (
        "ds: kept 80 of 100 cells (min_genes -10, max_pct_mito -10); kept 450 of 500 genes (hvg -50)"
    )


def test_summary_line_nothing_removed_has_no_parentheses() -> None:
    steps = [FilterStep("a", "samples", 7, 7), FilterStep("b", "samples", 7, 7)]
    assert summary_line("bulk", steps) == "bulk: kept 7 of 7 samples"


def steps_for_guard(after_last: int) -> list[FilterStep]:
    return [
        FilterStep("min_genes", "cells", 100, 90, "min_genes >= 200", "genes: median 300"),
        FilterStep("min_cells", "genes", 50, 10),  # another unit: never the worst, never counted
        FilterStep("max_pct_mito", "cells", 90, 60, "max_pct_mito <= 5", "pct mito: median 7"),
        FilterStep("doublets", "cells", 60, after_last),
    ]


def test_guard_passes_exactly_at_the_fraction() -> None:
    guard("card.yaml", steps_for_guard(50), "cells", 0.5)  # 50 >= 0.5 * 100: kept


def test_guard_passes_with_none_or_no_rows() -> None:
    guard("card.yaml", steps_for_guard(0), "cells", None)
    guard("card.yaml", [FilterStep("a", "cells", 0, 0)], "cells", 0.9)
    guard("card.yaml", [FilterStep("a", "genes", 10, 0)], "cells", 0.9)  # no step of that unit


def test_guard_message_names_the_worst_filter() -> None:
    with pytest.raises(InputError) as caught:
        guard("card.yaml", steps_for_guard(49), "cells", 0.5)
    # 49 of 100 kept; max_pct_mito removed 30 (min_genes 10, doublets 11): the worst
    assert str(caught.value) == (
        "card.yaml: filters: the filters kept 49 of 100 cells (49.0%, below params.min_fraction_kept 0.5); "
        "max_pct_mito (max_pct_mito <= 5) removed the most: 30 of 90; pct mito: median 7; "
        "loosen that threshold or lower min_fraction_kept"
    )


def test_guard_message_without_threshold_or_distribution() -> None:
    steps = [FilterStep("a", "variants", 1000, 990), FilterStep("b", "variants", 990, 5)]
    with pytest.raises(InputError) as caught:
        guard("x.vcf", steps, "variants", 0.25)
    assert str(caught.value) == (
        "x.vcf: filters: the filters kept 5 of 1000 variants (0.5%, below params.min_fraction_kept 0.25); "
        "b removed the most: 985 of 990; loosen that threshold or lower min_fraction_kept"
    )


def test_summary_line_last_count_is_from_the_last_step() -> None:
    # three steps of one unit whose second and last counts differ: 100 -> 70 -> 40 -> 25
    steps = [FilterStep("a", "cells", 100, 70), FilterStep("b", "cells", 70, 40), FilterStep("c", "cells", 40, 25)]
    assert summary_line("ds", steps) == "ds: kept 25 of 100 cells (a -30, b -30, c -15)"


def test_guard_one_row_lost_is_below_any_positive_fraction() -> None:
    with pytest.raises(InputError) as caught:
        guard("x.fa", [FilterStep("min_length", "sequences", 1, 0, "min_length >= 10")], "sequences", 0.5)
    assert str(caught.value) == (
        "x.fa: filters: the filters kept 0 of 1 sequences (0.0%, below params.min_fraction_kept 0.5); "
        "min_length (min_length >= 10) removed the most: 1 of 1; loosen that threshold or lower min_fraction_kept"
    )
