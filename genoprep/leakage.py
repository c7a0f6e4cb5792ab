"""Leakage checks across train/val/test: the same item in two splits, groups crossing splits.

Every check turns the items into *keys* (one per row) and compares the keys across splits:

* identical sequences: the upper-cased sequence (soft-masking does not make it different);
* identical cells: a BLAKE2b digest of the CSR row (column indices as int64 and values as
  float64, explicit zeros removed), so two cells collide exactly when their count vectors
  are equal;
* the same variant: ``chrom:pos:ref:alt`` (upper-cased alleles);
* groups: a group (e.g. a donor) found in more than one split.

For each pair of splits the report counts the rows of the later split (``val`` after
``train``, ``test`` after ``train`` and ``val``) whose key also occurs in the earlier one,
e.g. ``test_in_train``, plus the repeats inside each split and a few example ids.

Policies (card ``params.leakage.policy``): ``report`` (default) only reports;
``drop_from_eval`` also marks the val/test rows whose key occurs in an earlier split
(train for val; train or val for test) so that task bundles leave them out of evaluation;
``error`` stops with one line.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from genoprep.errors import InputError
from genoprep.splits import SPLITS

if TYPE_CHECKING:
    import scipy.sparse as sp

POLICIES = ("report", "drop_from_eval", "error")
PAIRS = (("val", "train"), ("test", "train"), ("test", "val"))
N_EXAMPLES = 5


def sequence_keys(sequences: Sequence[str | bytes]) -> list[str]:
    """One key per sequence: the sequence upper-cased."""
    return [(s.decode("ascii") if isinstance(s, bytes) else str(s)).upper() for s in sequences]


def _row_key(indices: np.ndarray, values: np.ndarray) -> bytes:
    digest = hashlib.blake2b(digest_size=16)
    digest.update(indices.astype(np.int64).tobytes())
    digest.update(values.astype(np.float64).tobytes())
    return digest.digest()


def cell_keys(matrix: sp.spmatrix | np.ndarray) -> list[bytes]:
    """One key per row of a count matrix: the digest of its non-zero (column, value) pairs.

    Sparse and dense input give the same keys; a dense matrix is read row by row (never
    converted as a whole), a sparse one is not densified.
    """
    import scipy.sparse as sp  # here, not at the top: parsing the workflow imports this module (0.2-0.7 s)

    if not sp.issparse(matrix):
        dense = np.asarray(matrix)
        keys = []
        for row in dense:
            nonzero = np.flatnonzero(row)
            keys.append(_row_key(nonzero, row[nonzero]))
        return keys
    csr = sp.csr_matrix(matrix, copy=True)
    csr.eliminate_zeros()
    csr.sort_indices()
    return [
        _row_key(csr.indices[csr.indptr[i] : csr.indptr[i + 1]], csr.data[csr.indptr[i] : csr.indptr[i + 1]])
        for i in range(csr.shape[0])
    ]


def variant_keys(chrom: Sequence[str], pos: Sequence[int], ref: Sequence[str], alt: Sequence[str]) -> list[str]:
    """One key per variant: ``chrom:pos:REF:ALT``."""
    return [f"{c}:{int(p)}:{str(r).upper()}:{str(a).upper()}" for c, p, r, a in zip(chrom, pos, ref, alt)]


@dataclass
class LeakageCheck:
    """The result of one check: counts for qc.json and the eval rows that repeat an earlier split."""

    what: str
    counts: dict[str, int]
    examples: dict[str, list[str]]
    repeated_in_earlier: np.ndarray = field(repr=False)

    @property
    def n_cross(self) -> int:
        return sum(self.counts[f"{later}_in_{earlier}"] for later, earlier in PAIRS)

    def as_dict(self) -> dict[str, Any]:
        return {"what": self.what, **self.counts, "examples": self.examples}


def cross_split_duplicates(keys: Sequence[Any], ids: Sequence[str], splits: Sequence[str], what: str) -> LeakageCheck:
    """Rows whose key occurs in another split (counted per pair of splits) and repeats inside splits."""
    splits = np.asarray(splits, dtype=object)
    keys = list(keys)
    key_sets = {s: {k for k, sp_ in zip(keys, splits) if sp_ == s} for s in SPLITS}
    counts: dict[str, int] = {}
    examples: dict[str, list[str]] = {}
    repeated = np.zeros(len(keys), dtype=bool)
    for later, earlier in PAIRS:
        hits = [i for i, (k, s) in enumerate(zip(keys, splits)) if s == later and k in key_sets[earlier]]
        counts[f"{later}_in_{earlier}"] = len(hits)
        examples[f"{later}_in_{earlier}"] = [str(ids[i]) for i in hits[:N_EXAMPLES]]
        repeated[hits] = True
    for s in SPLITS:
        n_rows = int((splits == s).sum())
        counts[f"repeats_within_{s}"] = n_rows - len(key_sets[s])
    return LeakageCheck(what, counts, examples, repeated)


def groups_crossing(groups: Sequence[str], ids: Sequence[str], splits: Sequence[str], what: str) -> LeakageCheck:
    """Groups found in more than one split; their rows outside the group's first split are flagged."""
    splits = np.asarray(splits, dtype=object)
    groups = np.asarray(groups, dtype=object).astype(str)
    crossing = []
    repeated = np.zeros(len(groups), dtype=bool)
    for group in np.unique(groups):
        rows = groups == group
        present = [s for s in SPLITS if (rows & (splits == s)).any()]
        if len(present) > 1:
            crossing.append(f"{group} ({', '.join(present)})")
            repeated |= rows & np.isin(splits, present[1:])
    counts = {"groups_crossing": len(crossing), "rows_flagged": int(repeated.sum())}
    return LeakageCheck(what, counts, {"groups_crossing": crossing[:N_EXAMPLES]}, repeated)


@dataclass
class LeakageReport:
    """All checks of a dataset under one policy."""

    policy: str
    checks: list[LeakageCheck]

    def drop_from_eval(self) -> np.ndarray | None:
        """Rows to leave out of val/test (``drop_from_eval`` policy only), else None."""
        if self.policy != "drop_from_eval" or not self.checks:
            return None
        out = np.zeros_like(self.checks[0].repeated_in_earlier)
        for check in self.checks:
            out |= check.repeated_in_earlier
        return out

    def as_dict(self) -> dict[str, Any]:
        dropped = self.drop_from_eval()
        return {
            "policy": self.policy,
            "checks": [c.as_dict() for c in self.checks],
            "dropped_from_eval": int(dropped.sum()) if dropped is not None else 0,
        }

    def summary_line(self) -> str:
        parts = []
        for check in self.checks:
            if "groups_crossing" in check.counts:
                parts.append(f"{check.counts['groups_crossing']} {check.what} in two splits")
            else:
                parts.append(
                    f"{check.what}: " + ", ".join(f"{check.counts[f'{a}_in_{b}']} {a} in {b}" for a, b in PAIRS)
                )
        return "leakage: " + ("; ".join(parts) if parts else "no checks") + f" (policy {self.policy})"


def apply_policy(checks: list[LeakageCheck], policy: str, source: str) -> LeakageReport:
    """Build the report; under ``error`` any cross-split repeat raises one line naming an example."""
    if policy not in POLICIES:
        raise ValueError(f"leakage policy must be one of {POLICIES}, not {policy!r}")
    report = LeakageReport(policy, checks)
    if policy == "error":
        for check in checks:
            if check.n_cross or check.counts.get("groups_crossing"):
                found = {k: v for k, v in check.counts.items() if v and not k.startswith("repeats_within")}
                example = next((e[0] for e in check.examples.values() if e), "")
                raise InputError(
                    source,
                    f"leakage across splits ({check.what}: "
                    + ", ".join(f"{k} {v}" for k, v in found.items())
                    + f"; e.g. {example}); params.leakage.policy is error",
                )
    return report
