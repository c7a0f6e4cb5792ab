"""Task layer: time of genoprep's split/leakage/scaling/augmentation functions against references, in one run.

On one generated sparse count matrix (default 50,000 cells x 2,000 genes, ~10% non-zero),
each pair runs in this process on the same input, best of 3:

- ``fit_scaler`` (sparse, train rows only, exact two-pass) vs scikit-learn's
  ``StandardScaler(with_mean=False).fit`` on the same train rows (the reference);
- ``binomial_thinning`` vs scanpy's ``sc.pp.downsample_counts(counts_per_cell=...)`` at the
  same expected depth (the reference: scanpy's own depth downsampling);
- ``cell_keys`` (identical-cell keys, CSR rows) vs a plain loop hashing ``row.toarray()``;
- ``assign_splits`` stratified vs scikit-learn's ``train_test_split(stratify=...)`` twice.

Targets (ratios against the reference measured in this run): fit_scaler <= 3x, thinning
<= 1x, cell_keys <= 1x, assign_splits <= 20x (a keyed hash per id is the price of
stability). Exit status 1 when a target is missed.

    .venv/bin/python bench/bench_tasks.py [--cells 50000] [--genes 2000]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TARGETS = {"fit_scaler": 3.0, "binomial_thinning": 1.0, "cell_keys": 1.0, "assign_splits": 20.0}


def best_of(fn: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cells", type=int, default=50_000)
    parser.add_argument("--genes", type=int, default=2_000)
    args = parser.parse_args()

    import anndata as ad
    import scanpy as sc
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    from genoprep.leakage import cell_keys
    from genoprep.scrna.augment import binomial_thinning
    from genoprep.splits import assign_splits
    from genoprep.tasks.train_only import fit_scaler

    rng = np.random.default_rng(0)
    counts = sp.random(
        args.cells, args.genes, density=0.1, format="csr", random_state=rng, data_rvs=lambda n: rng.poisson(3, n) + 1
    ).astype(np.int32)
    train = rng.random(args.cells) < 0.8
    ids = [f"cell{i}" for i in range(args.cells)]
    labels = rng.choice(["a", "b", "c", "d"], size=args.cells).astype(str)
    depth = np.asarray(counts.sum(axis=1)).ravel()

    def scanpy_downsample() -> None:
        adata = ad.AnnData(counts.copy())
        sc.pp.downsample_counts(adata, counts_per_cell=(depth * 0.5).astype(int), random_state=0)

    def naive_keys() -> None:
        for i in range(min(args.cells, 20_000)):
            hashlib.blake2b(counts[i].toarray().tobytes(), digest_size=16).digest()

    def sklearn_split() -> None:
        rest_ids, _ = train_test_split(ids, test_size=0.1, stratify=labels, random_state=0)
        train_test_split(rest_ids, test_size=1 / 9, random_state=0)

    key_rows = counts[: min(args.cells, 20_000)]
    with threadpool_limits(limits=1):
        pairs = {
            "fit_scaler": (
                lambda: fit_scaler(counts, train),
                lambda: StandardScaler(with_mean=False).fit(counts[train]),
            ),
            "binomial_thinning": (lambda: binomial_thinning(counts, 0.5, seed=0), scanpy_downsample),
            "cell_keys": (lambda: cell_keys(key_rows), naive_keys),
            "assign_splits": (
                lambda: assign_splits(ids, fractions=(0.8, 0.1, 0.1), seed=0, strata=labels),
                sklearn_split,
            ),
        }
        missed = 0
        for name, (ours, reference) in pairs.items():
            mine, theirs = best_of(ours), best_of(reference)
            ratio = mine / theirs
            ok = ratio <= TARGETS[name]
            missed += not ok
            print(
                f"{name}: genoprep {mine:.3f} s, reference {theirs:.3f} s, ratio {ratio:.2f} "
                f"(target <= {TARGETS[name]:g}) {'ok' if ok else 'MISSED'}",
                flush=True,
            )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
