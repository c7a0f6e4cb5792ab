"""Leakage checks on hand-made cases: sequences, cells, variants, groups, and the three policies."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from genoprep.errors import InputError
from genoprep.leakage import (
    apply_policy,
    cell_keys,
    cross_split_duplicates,
    groups_crossing,
    sequence_keys,
    variant_keys,
)

IDS = ["s1", "s2", "s3", "s4", "s5", "s6", "s7"]
SPLITS = ["train", "train", "train", "val", "val", "test", "test"]


def test_sequence_duplicates_are_counted_per_pair_of_splits() -> None:
    sequences = ["ACGT", "acgt", "GGGG", "ACGT", "TTTT", "GGGG", "TTTT"]
    check = cross_split_duplicates(sequence_keys(sequences), IDS, SPLITS, "identical sequences")
    # s4 (val) repeats train's ACGT; s6 (test) repeats train's GGGG; s7 (test) repeats val's TTTT
    assert check.counts["val_in_train"] == 1
    assert check.counts["test_in_train"] == 1
    assert check.counts["test_in_val"] == 1
    assert check.counts["repeats_within_train"] == 1  # ACGT and acgt are one sequence
    assert check.examples["test_in_val"] == ["s7"]
    assert check.repeated_in_earlier.tolist() == [False, False, False, True, False, True, True]


def test_cell_keys_equal_exactly_when_count_vectors_are_equal() -> None:
    dense = np.array([[0, 1, 2], [0, 1, 2], [0, 2, 1], [0, 0, 0], [1, 0, 0]], dtype=np.int32)
    keys = cell_keys(sp.csr_matrix(dense))
    assert keys[0] == keys[1]
    assert len({keys[0], keys[2], keys[3], keys[4]}) == 4
    # an explicit stored zero and unsorted indices do not change the key
    explicit = sp.csr_matrix((np.array([2, 0, 1]), np.array([2, 0, 1]), np.array([0, 3])), shape=(1, 3))
    assert cell_keys(explicit)[0] == keys[0]
    assert cell_keys(dense)[0] == keys[0]


def test_variant_keys_and_same_variant_in_two_splits() -> None:
    keys = variant_keys(["MT", "MT", "MT"], [10, 10, 11], ["a", "A", "C"], ["G", "g", "T"])
    assert keys == ["MT:10:A:G", "MT:10:A:G", "MT:11:C:T"]
    check = cross_split_duplicates(keys, ["v1", "v2", "v3"], ["train", "test", "test"], "the same variant")
    assert check.counts["test_in_train"] == 1 and check.examples["test_in_train"] == ["v2"]


def test_groups_crossing_splits() -> None:
    groups = ["d1", "d1", "d2", "d2", "d3", "d3", "d1"]
    check = groups_crossing(groups, IDS, SPLITS, "donors")
    # d1 is in train and test, d2 in train and val; d3 only in val and test
    assert check.counts["groups_crossing"] == 3
    assert check.examples["groups_crossing"] == ["d1 (train, test)", "d2 (train, val)", "d3 (val, test)"]
    assert check.repeated_in_earlier.tolist() == [False, False, False, True, False, True, True]


def test_policies() -> None:
    check = cross_split_duplicates(["a", "b", "a"], ["r1", "r2", "r3"], ["train", "val", "test"], "identical cells")
    report = apply_policy([check], "report", "X.npy")
    assert report.drop_from_eval() is None
    assert report.as_dict()["checks"][0]["test_in_train"] == 1
    dropping = apply_policy([check], "drop_from_eval", "X.npy")
    assert dropping.drop_from_eval().tolist() == [False, False, True]
    assert dropping.as_dict()["dropped_from_eval"] == 1
    with pytest.raises(InputError) as err:
        apply_policy([check], "error", "X.npy")
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("X.npy: leakage across splits (identical cells: test_in_train 1; e.g. r3)")
    clean = cross_split_duplicates(["a", "b", "c"], ["r1", "r2", "r3"], ["train", "val", "test"], "cells")
    assert apply_policy([clean], "error", "X.npy").as_dict()["dropped_from_eval"] == 0
