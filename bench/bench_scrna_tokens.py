"""scRNA-seq tokens: cells/s and peak RSS of genoprep's compiled kernels against per-cell loops, in one run.

A PBMC-68k-size raw-count matrix (default 68,579 cells x 20,387 genes, ~45 M non-zeros, small
integer counts with many ties, genes drawn with a skewed popularity) is generated once from a
seed and saved as CSR arrays (.npz); each contender then runs in its own subprocess (so each
peak RSS is its own) on that file:

- ``geneformer``         — genoprep: GeneformerTokenizer.tokenize_chunk over chunks of cells
                            (V1: 2048 genes, the real V1 dictionaries when found, else synthetic);
- ``geneformer_percell`` — the upstream style: a Python loop over the CSR rows, numpy per cell
                            (normalise, sort); ties broken by token id as genoprep does, so the
                            tokens can be compared;
- ``rank``               — genoprep: RankTokenizer.tokenize_chunk (plain rank, 2048 genes);
- ``rank_densify``       — the spec's sketch: per cell, densify the row and argsort it
                            (stable, non-zero genes only).

Every contender hashes its offsets and token ids; the pairs must be identical. Speeds are
cells per second of CPU time of the timed loop (``time.process_time``; wall-clock cells/s are
printed too): the machines this runs on are shared, and CPU time is what a contender costs
whatever else runs. Targets: the Geneformer kernel >= 5x the upstream-style loop; the rank kernel faster than
the densify loop; the kernels' peak RSS above the loaded matrix bounded by the chunk (<= 1 GiB).
Exit status 1 when a target is missed or tokens differ.

    .venv/bin/python bench/bench_scrna_tokens.py [--scale 1.0] [--chunk 10000] [--dictionaries DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
FULL_CELLS, FULL_GENES = 68_579, 20_387
# genes drawn per cell with the skewed popularity; repeats merge, leaving ~656 distinct genes per cell
# (68,579 x 656 = 45 M non-zeros, PBMC 68k's density)
DRAWS_PER_CELL = 970
TARGET_SPEEDUP = 5.0
MAX_EXTRA_RSS_MB = 1024

CONTENDER = r"""
import hashlib, json, resource, sys, time
import numpy as np
from scipy import sparse
path, which, chunk_size = sys.argv[1], sys.argv[2], int(sys.argv[3])
arrays = np.load(path)
matrix = sparse.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]), shape=tuple(arrays["shape"]))
names = [str(n) for n in arrays["genes"]]
tokens = json.loads(str(arrays["tokens"]))
medians = json.loads(str(arrays["medians"]))
n_cells = matrix.shape[0]
chunks = [matrix[first:first + chunk_size] for first in range(0, n_cells, chunk_size)]
loaded_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
digest = hashlib.sha256()
LIMIT = 2048

if which in ("geneformer", "rank"):
    from genoprep.scrna.tokens import (GeneformerOptions, GeneformerTokenizer, GeneformerVocabulary,
                                       RankOptions, RankTokenizer)
    if which == "geneformer":
        options = GeneformerOptions("v1", None, None, None, None, None)
        tokenizer = GeneformerTokenizer(GeneformerVocabulary.load(options, tokens=tokens, medians=medians),
                                        names, options)
    else:
        tokenizer = RankTokenizer(len(names), RankOptions(n_genes=LIMIT))
    tokenizer.tokenize_chunk(matrix[:10])  # compile (or load the numba cache) outside the timing

    def tokenize(chunk):
        result = tokenizer.tokenize_chunk(chunk)
        return result.offsets, result.input_ids
elif which == "geneformer_percell":
    token_of = np.array([tokens.get(n, -1) for n in names], np.int64)
    median_of = np.array([medians.get(n, np.nan) for n in names])

    def tokenize(chunk):
        offsets, ids = [0], []
        indptr, indices, data = chunk.indptr, chunk.indices, chunk.data
        for cell in range(chunk.shape[0]):
            columns = indices[indptr[cell]:indptr[cell + 1]]
            counts = data[indptr[cell]:indptr[cell + 1]].astype(np.float64)
            n_counts = counts.sum()
            keep = (token_of[columns] >= 0) & (counts != 0)
            cell_tokens = token_of[columns[keep]]
            values = counts[keep] / n_counts * 10000.0 / median_of[columns[keep]]
            by_token = np.argsort(cell_tokens, kind="stable")
            cell_tokens, values = cell_tokens[by_token], values[by_token]
            ranked = cell_tokens[np.argsort(-values, kind="stable")][:LIMIT]
            if ranked.size:
                ids.append(ranked)
                offsets.append(offsets[-1] + ranked.size)
        return offsets, (np.concatenate(ids) if ids else np.zeros(0, np.int32))
elif which == "rank_densify":
    def tokenize(chunk):
        offsets, ids = [0], []
        for cell in range(chunk.shape[0]):
            row = chunk[cell].toarray().ravel()
            order = np.argsort(-row, kind="stable")[:LIMIT]
            order = order[row[order] > 0]
            if order.size:
                ids.append(order)
                offsets.append(offsets[-1] + order.size)
        return offsets, (np.concatenate(ids) if ids else np.zeros(0, np.int32))
seconds = cpu_seconds = 0.0
for chunk in chunks:
    start, cpu = time.perf_counter(), time.process_time()
    offsets, ids = tokenize(chunk)
    seconds += time.perf_counter() - start
    cpu_seconds += time.process_time() - cpu
    digest.update(np.asarray(offsets, np.int64).tobytes())
    digest.update(np.asarray(ids, np.int32).tobytes())
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"contender": which, "seconds": seconds, "cpu_seconds": cpu_seconds,
                  "cells_per_s": n_cells / seconds, "cells_per_cpu_s": n_cells / cpu_seconds,
                  "peak_rss_mb": peak_mb, "rss_above_loaded_mb": peak_mb - loaded_mb,
                  "tokens_sha256": digest.hexdigest()}))
"""


def load_dictionaries(folder: Path | None) -> tuple[dict[str, int], dict[str, float], str]:
    """The real V1 dictionaries when the folder has them, else a synthetic V1 set."""
    if folder is not None and (folder / "token_dictionary.pkl").exists():
        sys.path.insert(0, str(REPO))
        from genoprep.dictionaries import load_dictionary

        tokens, _ = load_dictionary(folder / "token_dictionary.pkl", "token dictionary")
        medians, _ = load_dictionary(folder / "gene_median_dictionary.pkl", "gene median dictionary")
        return tokens, medians, f"Geneformer V1 dictionaries from {folder}"
    rng = np.random.default_rng(1)
    genes = [f"ENSG{n:011d}" for n in range(25_424)]
    tokens = {"<pad>": 0, "<mask>": 1, **{g: i + 2 for i, g in enumerate(genes)}}
    medians = {g: float(m) for g, m in zip(genes, rng.lognormal(0.5, 0.6, len(genes)))}
    return tokens, medians, "synthetic V1-shaped dictionaries"


def generate(path: Path, n_cells: int, n_genes: int, tokens: dict, medians: dict, seed: int = 0) -> int:
    """A skewed random count matrix as CSR arrays (columns sorted, no duplicates) in an .npz."""
    rng = np.random.default_rng(seed)
    in_both = sorted(g for g in tokens if g in medians)
    genes = np.array(
        in_both[:n_genes]
        if len(in_both) >= n_genes
        else in_both + [f"ENSG9{n:010d}" for n in range(n_genes - len(in_both))]
    )
    popularity = rng.permutation(1.0 / np.arange(1, n_genes + 1) ** 0.9)
    popularity /= popularity.sum()
    indptr = np.zeros(n_cells + 1, np.int64)
    parts_indices, parts_data = [], []
    per_cell = rng.poisson(DRAWS_PER_CELL, n_cells).clip(1, n_genes)
    for first in range(0, n_cells, 5000):
        sizes = per_cell[first : first + 5000]
        columns = rng.choice(n_genes, size=int(sizes.sum()), p=popularity)
        rows = np.repeat(np.arange(sizes.size), sizes)
        keys = np.unique(rows.astype(np.int64) * n_genes + columns)
        rows, columns = keys // n_genes, (keys % n_genes).astype(np.int32)
        counts = np.bincount(rows, minlength=sizes.size)
        indptr[first + 1 : first + sizes.size + 1] = indptr[first] + np.cumsum(counts)
        parts_indices.append(columns)
        parts_data.append((rng.geometric(0.55, columns.size)).astype(np.float32))
    indices, data = np.concatenate(parts_indices), np.concatenate(parts_data)
    np.savez(
        path,
        data=data,
        indices=indices,
        indptr=indptr,
        shape=np.array([n_cells, n_genes]),
        genes=genes,
        tokens=np.array(json.dumps(tokens)),
        medians=np.array(json.dumps(medians)),
    )
    return int(indices.size)


def run(path: Path, which: str, chunk: int) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", CONTENDER, str(path), which, str(chunk)],
        capture_output=True,
        check=False,
        text=True,
        cwd=REPO,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )
    if done.returncode != 0:
        raise SystemExit(f"{which} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the 68,579 cells (genes stay 20,387)")
    parser.add_argument("--chunk", type=int, default=10_000, help="cells per chunk")
    parser.add_argument("--dictionaries", type=Path, default=REPO.parent / "shared" / "data" / "geneformer_v1")
    args = parser.parse_args()
    tokens, medians, source = load_dictionaries(args.dictionaries)
    n_cells = max(100, int(FULL_CELLS * args.scale))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "counts.npz"
        nnz = generate(path, n_cells, FULL_GENES, tokens, medians)
        print(f"matrix: {n_cells:,} cells x {FULL_GENES:,} genes, {nnz:,} non-zeros; {source}; chunk {args.chunk:,}")
        results = {
            which: run(path, which, args.chunk)
            for which in ("geneformer", "geneformer_percell", "rank", "rank_densify")
        }
    for r in results.values():
        print(
            f"{r['contender']:>20}: {r['cells_per_cpu_s']:>9,.0f} cells/CPU-s {r['cells_per_s']:>9,.0f} cells/s "
            f"{r['cpu_seconds']:7.2f} CPU-s {r['seconds']:7.2f} s  "
            f"peak RSS {r['peak_rss_mb']:7.0f} MB ({r['rss_above_loaded_mb']:+.0f} MB above the loaded matrix)"
        )
    failures = []
    for kernel, loop in (("geneformer", "geneformer_percell"), ("rank", "rank_densify")):
        if results[kernel]["tokens_sha256"] != results[loop]["tokens_sha256"]:
            failures.append(f"{kernel} and {loop} give different tokens")
        if results[kernel]["rss_above_loaded_mb"] > MAX_EXTRA_RSS_MB:
            failures.append(f"{kernel} needs {results[kernel]['rss_above_loaded_mb']:.0f} MB above the matrix")
    speedup = results["geneformer"]["cells_per_cpu_s"] / results["geneformer_percell"]["cells_per_cpu_s"]
    rank_speedup = results["rank"]["cells_per_cpu_s"] / results["rank_densify"]["cells_per_cpu_s"]
    print(
        f"CPU-time ratios: geneformer kernel / per-cell loop: {speedup:.1f}x (target >= {TARGET_SPEEDUP:g}x); "
        f"rank kernel / densify loop: {rank_speedup:.1f}x (target > 1x)"
    )
    if speedup < TARGET_SPEEDUP:
        failures.append(f"geneformer speed-up {speedup:.1f}x < {TARGET_SPEEDUP:g}x")
    if rank_speedup <= 1:
        failures.append(f"rank speed-up {rank_speedup:.1f}x <= 1x")
    print(
        json.dumps(
            {
                "cells": n_cells,
                "genes": FULL_GENES,
                "nnz": nnz,
                "results": results,
                "geneformer_speedup": speedup,
                "rank_speedup": rank_speedup,
                "failures": failures,
            }
        )
    )
    for failure in failures:
        print(f"MISSED: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
