"""scRNA-seq chain: time and peak memory of genoprep against plain scanpy, in one run.

A sparse raw-count matrix (default 20,000 cells x 15,000 genes, ~8% non-zero) is written
once as h5ad; then two contenders each run in their own subprocess (so each peak RSS is its
own) on that file with the same parameters:

- ``genoprep``  — genoprep.scrna.steps in one process, no files: ingest -> quality_control ->
  filter_cells -> normalize -> select_hvg -> hvg_matrix -> ml_matrix (the scaled cells x HVG
  float32 matrix);
- ``scanpy``    — the plain scanpy recipe of the same steps (the reference).

Targets (ratios against the reference measured in this run): time <= 1.5x and peak RSS <=
1.5x of plain scanpy — genoprep's checks, QC table and provenance must not cost more than
that — and the ML matrix must be float32 cells x HVGs (only the HVGs densified).
Exit status 1 when a target is missed.

    .venv/bin/python bench/bench_scrna.py [--cells 20000] [--genes 15000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PARAMS = {
    "min_genes": 200,
    "min_cells": 3,
    "max_genes": 2500,
    "max_pct_mito": 5,
    "mito_prefixes": ["MT-"],
    "mito_genes": [],
    "target_sum": 1e4,
    "hvg_flavor": "seurat",
    "n_top_genes": 2000,
    "hvg_batch_key": None,
    "scale_max_value": 10,
}

CONTENDER = r"""
import json, resource, sys, time
import anndata as ad, numpy as np, scanpy as sc
path, which, params = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
start = time.perf_counter()
if which == "genoprep":
    from genoprep.scrna import options as o, steps
    card = {"dataset_id": "bench", "input": {"path": path, "format": "h5ad", "value_type": "counts"},
            "columns": {}, "params": {**params, "min_fraction_kept": 0.1}}
    adata = steps.ingest(path, o.IngestOptions.from_card(card), "bench")
    decision = steps.quality_control(adata, o.QcOptions.from_card(card), [])
    adata, _ = steps.filter_cells(adata, decision)
    adata = steps.select_hvg(steps.normalize(adata, o.NormalizeOptions.from_card(card)), o.HvgOptions.from_card(card))
    block, _ = steps.hvg_matrix(adata)
    del adata
    matrix = steps.ml_matrix(block, o.ScaleOptions.from_card(card))
else:
    adata = ad.read_h5ad(path)
    adata.var["mt"] = adata.var_names.str.startswith("MT-")
    sc.pp.filter_cells(adata, min_genes=params["min_genes"])
    sc.pp.filter_genes(adata, min_cells=params["min_cells"])
    sc.pp.calculate_qc_metrics(adata, qc_vars=["mt"], percent_top=None, log1p=False, inplace=True)
    keep = (adata.obs.n_genes_by_counts <= params["max_genes"]) & (adata.obs.pct_counts_mt <= params["max_pct_mito"])
    adata = adata[keep].copy()
    adata.layers["counts"] = adata.X.copy()
    sc.pp.normalize_total(adata, target_sum=params["target_sum"])
    sc.pp.log1p(adata)
    sc.pp.highly_variable_genes(adata, flavor="seurat", n_top_genes=params["n_top_genes"])
    hvg = adata[:, adata.var.highly_variable].copy()
    sc.pp.scale(hvg, max_value=params["scale_max_value"])
    matrix = np.asarray(hvg.X, dtype=np.float32)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "peak_rss_mb": peak, "shape": list(matrix.shape), "dtype": str(matrix.dtype)}))
"""


def make_input(path: Path, n_cells: int, n_genes: int, seed: int = 0) -> None:
    import anndata as ad
    import numpy as np
    import pandas as pd
    from scipy import sparse

    rng = np.random.default_rng(seed)
    gene_rate = rng.gamma(0.4, 1.0, size=n_genes)
    gene_rate[:13] = 2.0  # MT- genes
    density = 0.08
    nnz_per_cell = rng.binomial(n_genes, density, size=n_cells)
    indptr = np.concatenate([[0], np.cumsum(nnz_per_cell)])
    probabilities = gene_rate / gene_rate.sum()
    indices = np.concatenate(
        [np.sort(rng.choice(n_genes, size=k, replace=False, p=probabilities)) for k in nnz_per_cell]
    )
    data = (rng.geometric(0.5, size=indices.size)).astype(np.float32)
    matrix = sparse.csr_matrix((data, indices, indptr), shape=(n_cells, n_genes))
    var = pd.DataFrame(index=[f"MT-{i}" for i in range(13)] + [f"G{i}" for i in range(13, n_genes)])
    ad.AnnData(X=matrix, obs=pd.DataFrame(index=[f"c{i}" for i in range(n_cells)]), var=var).write_h5ad(path)


def run(path: Path, which: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", CONTENDER, str(path), which, json.dumps(PARAMS)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=20000)
    parser.add_argument("--genes", type=int, default=15000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.h5ad"
        start = time.perf_counter()
        make_input(path, args.cells, args.genes)
        print(
            f"input: {args.cells} cells x {args.genes} genes, {path.stat().st_size / 2**20:.0f} MB h5ad "
            f"(made in {time.perf_counter() - start:.1f} s)"
        )
        run(path, "scanpy")  # warm-up: numba compiles and caches once
        results = {which: run(path, which) for which in ("scanpy", "genoprep")}
    reference = results["scanpy"]
    print(f"{'contender':<10} {'seconds':>8} {'x scanpy':>9} {'peak RSS MB':>12} {'x scanpy':>9}  ML matrix")
    for which, result in results.items():
        print(
            f"{which:<10} {result['seconds']:8.2f} {result['seconds'] / reference['seconds']:9.2f} "
            f"{result['peak_rss_mb']:12.0f} {result['peak_rss_mb'] / reference['peak_rss_mb']:9.2f}  "
            f"{result['shape']} {result['dtype']}"
        )
    mine = results["genoprep"]
    failures = []
    if mine["seconds"] > 1.5 * reference["seconds"]:
        failures.append("time > 1.5x plain scanpy")
    if mine["peak_rss_mb"] > 1.5 * reference["peak_rss_mb"]:
        failures.append("peak RSS > 1.5x plain scanpy")
    if mine["dtype"] != "float32" or mine["shape"] != reference["shape"]:
        failures.append("ML matrix is not float32 cells x HVGs like the reference")
    print("targets:", "all met" if not failures else "MISSED: " + "; ".join(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
