"""Splits: keyed-hash assignment, stratification, groups, predefined names, stability."""

from __future__ import annotations

import hashlib
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genoprep.errors import InputError
from genoprep.splits import (
    assign_splits,
    predefined_splits,
    read_splits,
    split_summary,
    splits_from_files,
    unit_hash,
    write_splits,
)


def reference_u(key: str, seed: int) -> float:
    """The documented rule, written out independently: keyed BLAKE2b, top 53 bits / 2**53."""
    digest = hashlib.blake2b(
        key.encode(), digest_size=8, key=seed.to_bytes(8, "little"), person=b"genoprep-split"
    ).digest()
    return (int.from_bytes(digest, "big") >> 11) / 2**53


IDS = [f"cell{i:04d}" for i in range(2000)]


def test_unit_hash_matches_the_documented_rule() -> None:
    u = unit_hash(IDS[:50], seed=7)
    assert u.tolist() == [reference_u(i, 7) for i in IDS[:50]]
    assert u.min() >= 0 and u.max() < 1
    assert not np.array_equal(unit_hash(IDS[:50], seed=8), u)


def test_plain_split_is_the_threshold_of_the_hash() -> None:
    splits = assign_splits(IDS, fractions=(0.7, 0.2, 0.1), seed=3)
    expected = ["train" if u < 0.7 else "val" if u < 0.9 else "test" for u in (reference_u(i, 3) for i in IDS)]
    assert splits.tolist() == expected
    counts = {s: int((splits == s).sum()) for s in ("train", "val", "test")}
    # binomial around the fractions: within 4 standard deviations
    for name, fraction in (("train", 0.7), ("val", 0.2), ("test", 0.1)):
        assert abs(counts[name] - 2000 * fraction) < 4 * np.sqrt(2000 * fraction * (1 - fraction))


def test_plain_split_does_not_depend_on_order_or_on_other_ids() -> None:
    base = dict(zip(IDS, assign_splits(IDS, fractions=(0.8, 0.1, 0.1), seed=1)))
    shuffled = IDS[:]
    random.Random(5).shuffle(shuffled)
    more = shuffled + [f"other{i}" for i in range(500)]
    again = dict(zip(more, assign_splits(more, fractions=(0.8, 0.1, 0.1), seed=1)))
    assert all(again[i] == base[i] for i in IDS)


def test_stratified_counts_are_the_rounded_fractions_in_every_stratum() -> None:
    labels = ["a"] * 1000 + ["b"] * 37 + ["c"] * 3
    ids = [f"x{i}" for i in range(len(labels))]
    splits = assign_splits(ids, fractions=(0.8, 0.1, 0.1), seed=0, strata=labels)
    summary = split_summary(splits, labels)["by_label"]
    assert summary["a"] == {"train": 800, "val": 100, "test": 100}
    # 37: round(29.6) = 30 train, round(33.3) - 30 = 3 val, 4 test
    assert summary["b"] == {"train": 30, "val": 3, "test": 4}
    # 3: round(2.4) = 2 train, round(2.7) - 2 = 1 val, 0 test
    assert summary["c"] == {"train": 2, "val": 1, "test": 0}
    # within a stratum the ranks follow the hash: every train id hashes below every test id
    u = dict(zip(ids, unit_hash(ids, 0)))
    a_train = [u[i] for i, s, lab in zip(ids, splits, labels) if lab == "a" and s == "train"]
    a_test = [u[i] for i, s, lab in zip(ids, splits, labels) if lab == "a" and s == "test"]
    assert max(a_train) < min(a_test)


def test_stratified_split_ignores_other_strata_and_row_order() -> None:
    labels = ["a"] * 300 + ["b"] * 200
    ids = [f"x{i}" for i in range(500)]
    base = dict(zip(ids, assign_splits(ids, fractions=(0.6, 0.2, 0.2), seed=9, strata=labels)))
    order = list(range(500))
    random.Random(1).shuffle(order)
    extra_ids = [ids[i] for i in order] + [f"y{i}" for i in range(100)]
    extra_labels = [labels[i] for i in order] + ["c"] * 100
    again = dict(zip(extra_ids, assign_splits(extra_ids, fractions=(0.6, 0.2, 0.2), seed=9, strata=extra_labels)))
    assert all(again[i] == base[i] for i in ids)


def test_adding_one_id_to_a_stratum_moves_at_most_the_boundary_ids() -> None:
    ids = [f"x{i}" for i in range(400)]
    base = dict(zip(ids, assign_splits(ids, fractions=(0.8, 0.1, 0.1), seed=2, strata=["a"] * 400)))
    more = ids + ["new"]
    again = dict(zip(more, assign_splits(more, fractions=(0.8, 0.1, 0.1), seed=2, strata=["a"] * 401)))
    assert sum(again[i] != base[i] for i in ids) <= 2


def test_groups_never_cross_splits_and_labels_stay_balanced() -> None:
    rng = np.random.default_rng(0)
    groups = [f"donor{d}" for d in rng.integers(0, 30, size=3000)]
    labels = [str(x) for x in rng.choice(["t", "b", "mono"], size=3000, p=[0.5, 0.3, 0.2])]
    ids = [f"c{i}" for i in range(3000)]
    splits = assign_splits(ids, fractions=(0.7, 0.15, 0.15), seed=4, strata=labels, groups=groups)
    for donor in set(groups):
        assert len({s for s, g in zip(splits, groups) if g == donor}) == 1
    n = {s: int((splits == s).sum()) for s in ("train", "val", "test")}
    assert all(n.values())
    assert abs(n["train"] / 3000 - 0.7) < 0.1
    # deterministic, and independent of row order
    order = rng.permutation(3000)
    again = assign_splits(
        [ids[i] for i in order],
        fractions=(0.7, 0.15, 0.15),
        seed=4,
        strata=[labels[i] for i in order],
        groups=[groups[i] for i in order],
    )
    assert dict(zip([ids[i] for i in order], again)) == dict(zip(ids, splits))


def test_groups_first_group_by_hash_goes_to_train() -> None:
    groups = ["g1"] * 5 + ["g2"] * 5 + ["g3"] * 5
    ids = [f"c{i}" for i in range(15)]
    splits = assign_splits(ids, fractions=(0.6, 0.2, 0.2), seed=0, groups=groups)
    first = min(("g1", "g2", "g3"), key=lambda g: reference_u(g, 0))
    assert {s for s, g in zip(splits, groups) if g == first} == {"train"}


def test_predefined_names_and_aliases() -> None:
    values = ["train", "Dev", "TEST", "validation", "training"]
    assert predefined_splits(values, list("abcde"), "obs.tsv", "column split").tolist() == [
        "train",
        "val",
        "test",
        "val",
        "train",
    ]
    with pytest.raises(InputError, match=r"obs.tsv: id c: column split is 'holdout', not a split name"):
        predefined_splits(["train", "val", "holdout"], list("abc"), "obs.tsv", "column split")


def test_one_file_per_split() -> None:
    got = splits_from_files(
        {"train.csv": ["a", "b"], "dev.csv": ["c"], "test.csv": ["d"]},
        {"train.csv": "train", "dev.csv": "dev", "test.csv": "test"},
    )
    assert got == {"a": "train", "b": "train", "c": "val", "d": "test"}
    with pytest.raises(InputError, match="id a: id also occurs in another split file"):
        splits_from_files({"train.csv": ["a"], "test.csv": ["a"]}, {"train.csv": "train", "test.csv": "test"})


def test_bad_fractions_and_duplicate_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="add up to 1"):
        assign_splits(["a", "b"], fractions=(0.8, 0.1, 0.2), seed=0)
    with pytest.raises(ValueError, match="unique"):
        assign_splits(["a", "a"], fractions=(0.8, 0.1, 0.1), seed=0)


def test_splits_tsv_round_trip(tmp_path) -> None:
    splits = assign_splits(IDS[:20], fractions=(0.5, 0.25, 0.25), seed=0)
    write_splits(tmp_path / "splits.tsv", IDS[:20], splits)
    text = (tmp_path / "splits.tsv").read_text()
    assert text.splitlines()[0] == "id\tsplit"
    assert read_splits(tmp_path / "splits.tsv") == dict(zip(IDS[:20], splits))


ID_LISTS = st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=60, unique=True)


@settings(max_examples=60, deadline=None)
@given(ids=ID_LISTS, extra=ID_LISTS, seed=st.integers(0, 2**64 - 1), train=st.floats(0, 1))
def test_property_plain_split_of_an_id_never_depends_on_the_others(ids, extra, seed, train) -> None:
    fractions = (train, (1 - train) / 2, 1 - train - (1 - train) / 2)
    alone = dict(zip(ids, assign_splits(ids, fractions=fractions, seed=seed)))
    union = ids + [e for e in extra if e not in alone]
    together = dict(zip(union, assign_splits(list(reversed(union)), fractions=fractions, seed=seed)[::-1]))
    assert all(together[i] == alone[i] for i in ids)


@settings(max_examples=60, deadline=None)
@given(ids=ID_LISTS, labels=st.lists(st.sampled_from("abc"), min_size=60, max_size=60), seed=st.integers(0, 1000))
def test_property_stratified_counts_are_the_rounded_fractions(ids, labels, seed) -> None:
    labels = labels[: len(ids)]
    splits = assign_splits(ids, fractions=(0.6, 0.25, 0.15), seed=seed, strata=labels)
    for label in set(labels):
        got = [s for s, lab in zip(splits, labels) if lab == label]
        n = len(got)
        n_train, n_train_val = int(np.floor(0.6 * n + 0.5)), int(np.floor(0.85 * n + 0.5))
        assert (got.count("train"), got.count("val"), got.count("test")) == (
            n_train,
            n_train_val - n_train,
            n - n_train_val,
        )
