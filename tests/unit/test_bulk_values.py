"""genoprep.values.check_values: the one value check bulk RNA-seq and scRNA-seq share."""

from __future__ import annotations

import numpy as np
import pytest

from genoprep.errors import InputError
from genoprep.values import check_values


def _where(position: int) -> str:
    return f"position {position}"


@pytest.mark.parametrize(
    ("values", "kind", "position", "message"),
    [
        ([[0, 1.5], [-1, np.nan]], "counts", 3, "value nan is not a finite number"),  # finite first
        ([[0, 1], [-np.inf, 2]], "finite", 2, "value -inf is not a finite number"),
        ([[0, 1.5], [-2, 3]], "counts", 2, "value -2 is negative"),  # negative before fractional
        ([[0, 1.5], [2, 3.5]], "counts", 1, "value 1.5 is not an integer"),  # the first in C order
        ([[0, 0.5], [-0.25, 3]], "non_negative", 2, "value -0.25 is negative"),
    ],
)
def test_first_offending_value_in_c_order(values: list, kind: str, position: int, message: str) -> None:
    with pytest.raises(InputError) as caught:
        check_values(np.asarray(values, dtype=np.float64), kind, "m.tsv", _where)
    assert str(caught.value) == f"m.tsv: position {position}: {message}"


def test_accepted_values_and_hints() -> None:
    check_values(np.array([0.0, 12.0, 3.0]), "counts", "m.tsv", _where)  # integers stored as floats
    check_values(np.array([0.0, 0.5]), "non_negative", "m.tsv", _where)
    check_values(np.array([-3.5, 2.0]), "finite", "m.tsv", _where)
    with pytest.raises(InputError, match=r"^m.tsv: position 1: value 2.5 is not an integer: use value_type tpm$"):
        check_values(np.array([1.0, 2.5]), "counts", "m.tsv", _where, {"not_integer": "use value_type tpm"})


def _reference(flat: np.ndarray, kind: str) -> tuple[int, str] | None:
    """The rule written with numpy masks: the first non-finite, else negative, else fractional value."""
    for mask, problem, applies in (
        (~np.isfinite(flat), "not a finite number", True),
        (flat < 0, "negative", kind != "finite"),
        (flat != np.round(flat), "not an integer", kind == "counts"),
    ):
        if applies and mask.any():
            return int(np.flatnonzero(mask)[0]), problem
    return None


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("kind", ["counts", "non_negative", "finite"])
def test_one_pass_kernel_agrees_with_numpy_masks(dtype: type, kind: str) -> None:
    rng = np.random.default_rng(7)
    for _ in range(200):
        flat = rng.integers(0, 6, size=rng.integers(1, 40)).astype(np.float64)
        for bad in rng.choice([np.nan, np.inf, -1.0, 0.5, -2.5], size=rng.integers(0, 3)):
            flat[rng.integers(flat.size)] = bad
        if dtype is np.int64:
            flat = np.where(np.isfinite(flat), np.floor(flat), 0).astype(np.int64)
        values = flat.astype(dtype)
        expected = _reference(values.astype(np.float64), kind)
        if expected is None:
            check_values(values, kind, "m", _where)
            continue
        with pytest.raises(InputError) as caught:
            check_values(values, kind, "m", _where)
        assert str(caught.value).startswith(f"m: position {expected[0]}: value ")
        assert str(caught.value).endswith(expected[1])
