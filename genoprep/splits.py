"""Train/validation/test splits that are deterministic and stable.

An id's split is derived from ``(seed, id)`` alone wherever possible, never from the row
order, so that two runs give the same ``splits.tsv`` and adding unrelated ids or datasets
does not move an id:

* **plain** (no ``stratify_by``, no ``group_by``): each id gets ``u = H(seed, id)``, a
  keyed BLAKE2b hash mapped to a uniform number in [0, 1); the id goes to ``train`` when
  ``u < f_train``, to ``val`` when ``u < f_train + f_val``, else to ``test``. An id's split
  depends on nothing else: adding or removing other ids never moves it. The split sizes
  are binomial around the fractions (exact only on average).
* **stratified** (``stratify_by``): inside each stratum the ids are ranked by ``(u, id)``;
  the first ``round(n * f_train)`` go to train, the next ``round(n * (f_train + f_val)) -
  round(n * f_train)`` to val, the rest to test (``round`` = half up). Each stratum then
  holds the fractions as exactly as its size allows. Ids of other strata and of other
  datasets never move an id; adding ``m`` ids to a stratum moves at most the ids at the
  two rank boundaries of that stratum (a few per added id), never the rest.
* **grouped** (``group_by``, with or without ``stratify_by``): the unit is the group (e.g. a
  donor): no group is in two splits. Groups are visited in the order of ``(H(seed, group),
  group)``; each goes to the split where it brings the per-label cell counts closest to
  their targets ``f_split * n_label`` (sum over splits and labels of the squared
  deviation, relative to ``n_label``; ties go to train, then val, then test). Without
  ``stratify_by`` all ids share one label, so the split sizes (in ids) approach the
  fractions. Groups and ids of other datasets never matter; adding a group may move only
  groups visited after it.
* **predefined**: the split is given (a column, or one input file per split); values
  ``train``/``val``/``test`` and the aliases ``training``, ``dev``, ``valid``,
  ``validation``, ``testing`` (any case).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from genoprep.errors import InputError
from genoprep.options import StepOptions

SPLITS = ("train", "val", "test")
ALIASES = {
    "train": "train",
    "training": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "dev": "val",
    "test": "test",
    "testing": "test",
}
_PERSON = b"genoprep-split"  # BLAKE2b personalisation: these hashes are for splits only


@dataclass(frozen=True)
class SplitOptions(StepOptions):
    """The card's ``params.split`` (see genoprep/schemas/common_params.schema.yaml)."""

    enabled: bool
    fractions: tuple[float, float, float]
    seed: int
    stratify_by: str | None
    group_by: str | None
    predefined: str | None

    @classmethod
    def from_card(cls, card: Mapping[str, Any]) -> SplitOptions:
        split = card["params"]["split"]
        fractions = split["fractions"]
        return cls(
            enabled=bool(split["enabled"]),
            fractions=(float(fractions["train"]), float(fractions["val"]), float(fractions["test"])),
            seed=int(split["seed"]),
            stratify_by=split.get("stratify_by"),
            group_by=split.get("group_by"),
            predefined=split.get("predefined"),
        )

    def describe(self) -> str:
        if self.predefined:
            return f"predefined by {self.predefined!r}"
        train, val, test = self.fractions
        how = f"train/val/test {train:g}/{val:g}/{test:g}, seed {self.seed}"
        if self.group_by:
            how += f", grouped by {self.group_by!r}"
        if self.stratify_by:
            how += f", stratified by {self.stratify_by!r}"
        return how


def unit_hash(keys: Sequence[str], seed: int) -> np.ndarray:
    """A uniform number in [0, 1) per key: keyed BLAKE2b of the UTF-8 key (53 bits, float64).

    Depends only on ``(seed, key)``: the same key gets the same number in any run, any
    order and any company of other keys.
    """
    if seed < 0 or seed >= 2**64:
        raise ValueError(f"split seed must be in [0, 2**64), not {seed}")
    key = seed.to_bytes(8, "little")
    out = np.empty(len(keys), dtype=np.float64)
    for i, item in enumerate(keys):
        digest = hashlib.blake2b(str(item).encode("utf-8"), digest_size=8, key=key, person=_PERSON).digest()
        out[i] = (int.from_bytes(digest, "big") >> 11) / 2.0**53
    return out


def _check_fractions(fractions: Sequence[float]) -> tuple[float, float, float]:
    train, val, test = (float(f) for f in fractions)
    if min(train, val, test) < 0 or abs(train + val + test - 1.0) > 1e-9:
        raise ValueError(f"split fractions must be >= 0 and add up to 1, not {train}/{val}/{test}")
    return train, val, test


def _round_half_up(x: float) -> int:
    return int(np.floor(x + 0.5))


def _by_threshold(u: np.ndarray, fractions: tuple[float, float, float]) -> np.ndarray:
    train, val, _ = fractions
    return np.where(u < train, 0, np.where(u < train + val, 1, 2)).astype(np.int8)


def _rank_order(u: np.ndarray, keys: Sequence[str]) -> np.ndarray:
    # by hash, ties (practically never) by the key itself: independent of the row order
    return np.array(sorted(range(len(keys)), key=lambda i: (u[i], str(keys[i]))), dtype=np.int64)


def _stratified(
    ids: Sequence[str], u: np.ndarray, strata: np.ndarray, fractions: tuple[float, float, float]
) -> np.ndarray:
    codes = np.empty(len(ids), dtype=np.int8)
    for stratum in np.unique(strata):
        members = np.flatnonzero(strata == stratum)
        order = members[_rank_order(u[members], [ids[i] for i in members])]
        n = order.size
        n_train = _round_half_up(n * fractions[0])
        n_train_val = _round_half_up(n * (fractions[0] + fractions[1]))
        codes[order[:n_train]] = 0
        codes[order[n_train:n_train_val]] = 1
        codes[order[n_train_val:]] = 2
    return codes


def _grouped(groups: np.ndarray, strata: np.ndarray, seed: int, fractions: tuple[float, float, float]) -> np.ndarray:
    group_names, group_of = np.unique(groups, return_inverse=True)
    label_names, label_of = np.unique(strata, return_inverse=True)
    counts = np.zeros((group_names.size, label_names.size), dtype=np.float64)
    np.add.at(counts, (group_of, label_of), 1.0)
    n_label = counts.sum(axis=0)
    target = np.outer(np.asarray(fractions), n_label)  # splits x labels
    current = np.zeros_like(target)
    u = unit_hash([str(g) for g in group_names], seed)
    split_of_group = np.empty(group_names.size, dtype=np.int8)
    for g in _rank_order(u, [str(g) for g in group_names]):
        before = ((current - target) / n_label) ** 2
        after = ((current + counts[g] - target) / n_label) ** 2
        increase = (after - before).sum(axis=1)
        best = int(np.argmin(increase))  # the first minimum: train, then val, then test
        split_of_group[g] = best
        current[best] += counts[g]
    return split_of_group[group_of]


def assign_splits(
    ids: Sequence[str],
    *,
    fractions: Sequence[float],
    seed: int,
    strata: Sequence[str] | None = None,
    groups: Sequence[str] | None = None,
) -> np.ndarray:
    """The split (``"train"``/``"val"``/``"test"``) of each id; the rules are in the module docstring.

    ``strata`` (labels) and ``groups`` (e.g. donors) are per id, as strings; missing labels
    should be given as ``"NA"`` (they form their own stratum). Ids must be unique.
    """
    ids = [str(i) for i in ids]
    if len(set(ids)) != len(ids):
        raise ValueError("split ids must be unique")
    fractions = _check_fractions(fractions)
    if groups is not None:
        labels = np.asarray(strata if strata is not None else ["."] * len(ids), dtype=object).astype(str)
        codes = _grouped(np.asarray(groups, dtype=object).astype(str), labels, seed, fractions)
    elif strata is not None:
        codes = _stratified(ids, unit_hash(ids, seed), np.asarray(strata, dtype=object).astype(str), fractions)
    else:
        codes = _by_threshold(unit_hash(ids, seed), fractions)
    return np.asarray(SPLITS, dtype=object)[codes]


def predefined_splits(values: Sequence[Any], ids: Sequence[str], source: str, what: str) -> np.ndarray:
    """Normalise given split names (aliases in :data:`ALIASES`, any case); anything else is refused."""
    out = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        name = ALIASES.get(str(value).strip().lower())
        if name is None:
            raise InputError(
                source,
                f"{what} is {value!r}, not a split name (train, val/dev/validation, test)",
                record=f"id {ids[i]}",
            )
        out[i] = name
    return out


def splits_from_files(ids_per_file: Mapping[str, Sequence[str]], split_of_file: Mapping[str, str]) -> dict[str, str]:
    """One input file per split: every id of a file gets that file's split (ids must not repeat)."""
    out: dict[str, str] = {}
    for path, file_ids in ids_per_file.items():
        name = ALIASES.get(str(split_of_file[path]).lower())
        if name is None:
            raise InputError(path, f"split {split_of_file[path]!r} is not a split name")
        for item in file_ids:
            if item in out:
                raise InputError(path, "id also occurs in another split file", record=f"id {item}")
            out[item] = name
    return out


def split_summary(
    splits: np.ndarray, strata: Sequence[str] | None = None, groups: Sequence[str] | None = None
) -> dict[str, Any]:
    """Counts per split (and per label and group count when given), for qc.json."""
    splits = np.asarray(splits, dtype=object)
    summary: dict[str, Any] = {"n": {s: int((splits == s).sum()) for s in SPLITS}}
    if strata is not None:
        strata = np.asarray(strata, dtype=object).astype(str)
        summary["by_label"] = {
            str(label): {s: int(((strata == label) & (splits == s)).sum()) for s in SPLITS}
            for label in np.unique(strata)
        }
    if groups is not None:
        groups = np.asarray(groups, dtype=object).astype(str)
        summary["n_groups"] = {s: int(np.unique(groups[splits == s]).size) for s in SPLITS}
    return summary


def write_splits(path: str | os.PathLike[str], ids: Sequence[str], splits: Sequence[str]) -> None:
    """``splits.tsv``: header ``id<TAB>split``, one row per id in the given order."""
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write("id\tsplit\n")
        handle.writelines(f"{item}\t{split}\n" for item, split in zip(ids, splits))


def read_splits(path: str | os.PathLike[str]) -> dict[str, str]:
    """``splits.tsv`` back into {id: split}."""
    out: dict[str, str] = {}
    with open(path, encoding="utf-8") as handle:
        header = handle.readline().rstrip("\n").split("\t")
        if header != ["id", "split"]:
            raise InputError(str(path), f"header is {header}, expected ['id', 'split']", record="line 1")
        for number, line in enumerate(handle, start=2):
            item, _, split = line.rstrip("\n").partition("\t")
            if split not in SPLITS:
                raise InputError(str(path), f"split {split!r} is not one of {SPLITS}", record=f"line {number}")
            out[item] = split
    return out


def masks(splits: Sequence[str]) -> dict[str, np.ndarray]:
    """A boolean mask per split name."""
    splits = np.asarray(splits, dtype=object)
    return {s: splits == s for s in SPLITS}
