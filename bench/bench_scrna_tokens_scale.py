"""scRNA-seq tokens at scale: the token rule's own function on a generated 1 M-cell h5ad, streamed.

Generates (once, from a seed; reused when present) a raw-count h5ad of ``--cells`` cells x
``--genes`` genes with about ``--genes-per-cell`` distinct genes per cell (skewed gene
popularity, small integer counts with many ties), genes = Ensembl ids of the real Geneformer V1
dictionaries, written chunk by chunk with h5py (never whole in memory), plus the two files the
token rule reads beside it: ``qc_cells.tsv`` (every 97th cell failed QC) and a labels-only
``processed.h5ad``. Then :func:`genoprep.scrna.tokens.workflow.tokenize_scheme` (what rule
``scrna_tokens`` runs) tokenises it in a subprocess, streaming chunks of cells from the h5ad;
reported: cells/s (wall and CPU) and the subprocess's peak RSS, against the target of 8 GiB.
A sample of cells is checked against a plain per-cell numpy reference (median-scaled values,
order by value descending then token id), so the figure is for correct tokens.

    nice .venv/bin/python bench/bench_scrna_tokens_scale.py --folder /work/tmp/tokens11 \
        [--cells 1000000] [--genes 20000] [--genes-per-cell 1000] [--scheme geneformer]

Exit status 1 when the peak RSS is over the target or a sampled cell differs.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numba
import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
TARGET_RSS_GIB = 8.0
GENERATE_CHUNK = 10_000
FAILED_EVERY = 97  # every 97th cell fails QC in qc_cells.tsv

CONTENDER = r"""
import json, resource, sys, time
from genoprep.scrna.tokens.workflow import tokenize_scheme, TokenOptions
params, folder, output = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
wall, cpu = time.perf_counter(), time.process_time()
section = tokenize_scheme(TokenOptions.from_params(params), folder + "/data.h5ad", folder + "/qc_cells.tsv",
                          folder + "/processed.h5ad", output, json.loads(sys.argv[4]))
print(json.dumps({"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu, "section": section,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def dictionaries(folder: Path) -> tuple[dict[str, int], dict[str, float]]:
    from genoprep.dictionaries import load_dictionary

    tokens, _ = load_dictionary(folder / "token_dictionary.pkl", "token dictionary")
    medians, _ = load_dictionary(folder / "gene_median_dictionary.pkl", "gene median dictionary")
    return tokens, medians


@numba.njit(cache=True)
def _fill_chunk(cdf, sizes, seed, columns, values, indptr) -> int:
    """CSR rows of a chunk: per cell, ``sizes[cell]`` genes drawn from the popularity (repeats merged,
    columns sorted) with geometric counts; returns the non-zeros written."""
    np.random.seed(seed)
    mark = np.zeros(cdf.shape[0], np.bool_)
    pos = 0
    for cell in range(sizes.shape[0]):
        start = pos
        for _ in range(sizes[cell]):
            gene = min(np.searchsorted(cdf, np.random.random()), cdf.shape[0] - 1)
            if not mark[gene]:
                mark[gene] = True
                columns[pos] = gene
                pos += 1
        columns[start:pos].sort()
        for k in range(start, pos):
            mark[columns[k]] = False
            values[k] = np.random.geometric(0.55)
        indptr[cell + 1] = pos
    return pos


def generate(folder: Path, n_cells: int, n_genes: int, per_cell: int, genes: list[str], seed: int = 0) -> int:
    """data.h5ad (CSR X written chunk by chunk), qc_cells.tsv and processed.h5ad; returns the non-zeros."""
    from anndata.io import write_elem

    rng = np.random.default_rng(seed)
    popularity = rng.permutation(1.0 / np.arange(1, n_genes + 1) ** 0.6)
    popularity /= popularity.sum()
    cell_ids = np.array([f"cell{i:07d}" for i in range(n_cells)], dtype=object)
    partial = folder / "data.h5ad.partial"
    nnz = 0
    with h5py.File(partial, "w") as handle:
        handle.attrs["encoding-type"] = "anndata"
        handle.attrs["encoding-version"] = "0.1.0"
        write_elem(handle, "obs", pd.DataFrame(index=pd.Index(cell_ids, name="cell_id")))
        write_elem(handle, "var", pd.DataFrame(index=pd.Index(genes, name="gene_ids")))
        for group in ("layers", "obsm", "varm", "obsp", "varp", "uns"):
            write_elem(handle, group, {})
        x = handle.create_group("X")
        x.attrs.update({"encoding-type": "csr_matrix", "encoding-version": "0.1.0", "shape": (n_cells, n_genes)})
        data = x.create_dataset("data", (0,), np.float32, maxshape=(None,), chunks=(1 << 20,))
        indices = x.create_dataset("indices", (0,), np.int32, maxshape=(None,), chunks=(1 << 20,))
        indptr = np.zeros(n_cells + 1, np.int64)
        cdf = np.cumsum(popularity)
        for first in range(0, n_cells, GENERATE_CHUNK):
            n = min(GENERATE_CHUNK, n_cells - first)
            sizes = rng.poisson(int(per_cell * 1.1), n).clip(1, n_genes)  # draws; repeats merge
            columns = np.empty(int(sizes.sum()), np.int32)
            values = np.empty(columns.size, np.float32)
            rows = np.zeros(n + 1, np.int64)
            used = _fill_chunk(cdf, sizes, int(rng.integers(2**31)), columns, values, rows)
            columns, values = columns[:used], values[:used]
            indptr[first + 1 : first + n + 1] = nnz + rows[1:]
            data.resize((nnz + used,))
            indices.resize((nnz + used,))
            data[nnz:], indices[nnz:] = values, columns
            nnz += used
        x.create_dataset("indptr", data=indptr)
    partial.rename(folder / "data.h5ad")
    removed = np.where(np.arange(n_cells) % FAILED_EVERY == FAILED_EVERY - 1, "min_genes", "")
    pd.DataFrame({"cell_id": cell_ids, "removed_by": removed}).to_csv(folder / "qc_cells.tsv", sep="\t", index=False)
    import anndata as ad

    kept = cell_ids[removed == ""]
    labels = pd.DataFrame({"cell_type": np.array(["T", "B", "NK", "Mono"])[np.arange(kept.size) % 4]}, index=kept)
    ad.AnnData(obs=labels, var=pd.DataFrame(index=pd.Index(genes[:10]))).write_h5ad(folder / "processed.h5ad")
    return nnz


def reference(counts: np.ndarray, columns: np.ndarray, token_of: np.ndarray, median_of: np.ndarray) -> list[int]:
    """Geneformer V1 tokens of one cell, plain numpy: all genes are in both dictionaries here."""
    values = counts.astype(np.float64) / counts.astype(np.float64).sum() * 10_000 / median_of[columns]
    tokens = token_of[columns]
    order = np.lexsort((tokens, -values))
    return tokens[order][:2048].tolist()


def check_sample(folder: Path, output: Path, genes: list[str], tokens: dict, medians: dict, n: int = 300) -> int:
    """How many of ``n`` random QC-passing cells differ from the reference (0 expected)."""
    import pyarrow.parquet as pq

    token_of = np.array([tokens[g] for g in genes], np.int64)
    median_of = np.array([medians[g] for g in genes])
    table = pq.ParquetFile(output)
    cell_ids = table.read(columns=["cell_id"]).column("cell_id").to_numpy()
    starts = np.cumsum([0] + [table.metadata.row_group(i).num_rows for i in range(table.num_row_groups)])
    rng = np.random.default_rng(7)
    positions = np.sort(rng.choice(cell_ids.size, n, replace=False))
    groups = np.searchsorted(starts, positions, side="right") - 1
    wrong = 0
    with h5py.File(folder / "data.h5ad", "r") as handle:
        x = handle["X"]
        for group in np.unique(groups):  # each sampled row group decoded once
            ids = table.read_row_group(int(group), columns=["input_ids"]).column("input_ids")
            for position in positions[groups == group]:
                row = int(str(cell_ids[position]).removeprefix("cell"))
                lo, hi = x["indptr"][row], x["indptr"][row + 1]
                expected = reference(x["data"][lo:hi], x["indices"][lo:hi], token_of, median_of)
                wrong += ids[int(position - starts[group])].as_py() != expected
    return wrong


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, required=True, help="where the generated files go (large)")
    parser.add_argument("--cells", type=int, default=1_000_000)
    parser.add_argument("--genes", type=int, default=20_000)
    parser.add_argument("--genes-per-cell", type=int, default=1000)
    parser.add_argument("--scheme", choices=["geneformer", "rank"], default="geneformer")
    parser.add_argument("--dictionaries", type=Path, default=Path("/work/shared/data/geneformer_v1"))
    parser.add_argument("--generate-only", action="store_true")
    args = parser.parse_args()
    args.folder.mkdir(parents=True, exist_ok=True)
    tokens, medians = dictionaries(args.dictionaries)
    genes = sorted(g for g in tokens if g in medians and not g.startswith("<"))[: args.genes]
    if not (args.folder / "data.h5ad").exists():
        start = time.perf_counter()
        nnz = generate(args.folder, args.cells, len(genes), args.genes_per_cell, genes)
        print(
            f"generated {args.cells:,} cells x {len(genes):,} genes, {nnz:,} non-zeros "
            f"({nnz / args.cells:.0f} per cell) in {time.perf_counter() - start:.0f} s"
        )
    if args.generate_only:
        return 0
    from genoprep.scrna.tokens.workflow import TokenOptions

    settings = (
        {"n_genes": 2048}
        if args.scheme == "rank"
        else {
            "version": "v1",
            "model_input_size": None,
            "special_tokens": None,
            "gene_name_id_dictionary": None,
            "token_dictionary": str(args.dictionaries / "token_dictionary.pkl"),
            "gene_median_dictionary": str(args.dictionaries / "gene_median_dictionary.pkl"),
        }
    )
    options = TokenOptions(
        dataset_id="scale",
        format="h5ad",
        orientation=None,
        layer=None,
        columns={},
        scheme=args.scheme,
        settings=settings,
        with_spearman=False,
    )
    output = args.folder / f"{args.scheme}.parquet"
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            CONTENDER,
            json.dumps(options.as_params()),
            str(args.folder),
            str(output),
            json.dumps(settings),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )
    if done.returncode:
        print(done.stderr[-3000:])
        return 1
    result = json.loads(done.stdout.strip().splitlines()[-1])
    section = result["section"]
    cells = section["cells_tokenised"]
    print(json.dumps({k: v for k, v in section.items() if k != "dictionaries"}, indent=1))
    rss_gib = result["peak_rss_mib"] / 1024
    print(
        f"{args.scheme}: {cells:,} cells tokenised in {result['wall_s']:.0f} s wall / {result['cpu_s']:.0f} s CPU: "
        f"{cells / result['wall_s']:,.0f} cells/s wall, {cells / result['cpu_s']:,.0f} cells/s CPU; "
        f"peak RSS {rss_gib:.2f} GiB (target < {TARGET_RSS_GIB} GiB); "
        f"Parquet {output.stat().st_size / 2**30:.2f} GiB"
    )
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    print(f"(peak RSS of the subprocess seen by the parent: {children:.2f} GiB)")
    wrong = check_sample(args.folder, output, genes, tokens, medians) if args.scheme == "geneformer" else 0
    print(f"sampled cells against the per-cell reference: {wrong} of 300 differ")
    return int(rss_gib >= TARGET_RSS_GIB or wrong > 0)


if __name__ == "__main__":
    sys.exit(main())
