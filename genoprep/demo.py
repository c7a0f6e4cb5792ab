"""A deterministic PBMC-like demo dataset for the embedded default run.

Raw UMI counts (genes x cells, gzip CSV) drawn from a gamma-Poisson (negative binomial)
model: per-cell library sizes, per-gene base expression, marker genes up in their cell
type, a donor and a batch effect, the 13 human MT- protein-coding genes, and a few
damaged cells (high mitochondrial fraction) and empty droplets for QC to remove. The same
seed gives the same bytes.
"""

from __future__ import annotations

import gzip
import io
import os

import numpy as np
import pandas as pd

CELL_TYPES = {
    "CD4 T": ["CD3E", "CD3D", "IL7R", "CCR7", "LDHB"],
    "CD8 T": ["CD3E", "CD8A", "CD8B", "GZMK", "CCL5"],
    "B": ["MS4A1", "CD79A", "CD79B", "CD19", "BANK1"],
    "NK": ["NKG7", "GNLY", "GZMB", "PRF1", "KLRD1"],
    "CD14 Monocyte": ["CD14", "LYZ", "S100A8", "S100A9", "FCN1"],
    "FCGR3A Monocyte": ["FCGR3A", "MS4A7", "LST1", "AIF1", "IFITM3"],
}
MT_GENES = [
    "MT-ND1",
    "MT-ND2",
    "MT-CO1",
    "MT-CO2",
    "MT-ATP8",
    "MT-ATP6",
    "MT-CO3",
    "MT-ND3",
    "MT-ND4L",
    "MT-ND4",
    "MT-ND5",
    "MT-ND6",
    "MT-CYB",
]
DONORS = ["donor_A", "donor_B", "donor_C"]
BATCHES = ["batch_1", "batch_2"]


def simulate_pbmc(n_cells: int, n_genes: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Counts (genes x cells, int) and cell metadata (cell_type, donor, batch)."""
    rng = np.random.default_rng(seed)
    markers = sorted({g for genes in CELL_TYPES.values() for g in genes})
    n_other = n_genes - len(markers) - len(MT_GENES)
    if n_other < 10:
        raise ValueError(f"n_genes must be at least {len(markers) + len(MT_GENES) + 10}")
    genes = markers + MT_GENES + [f"GENE{i:05d}" for i in range(1, n_other + 1)]
    cells = [f"DEMO{i:05d}-1" for i in range(1, n_cells + 1)]
    types = list(CELL_TYPES)
    cell_type = rng.choice(len(types), size=n_cells, p=[0.3, 0.15, 0.15, 0.1, 0.2, 0.1])
    donor = rng.integers(0, len(DONORS), size=n_cells)
    batch = rng.integers(0, len(BATCHES), size=n_cells)

    base = rng.gamma(shape=0.6, scale=1.0, size=n_genes)  # many lowly, few highly expressed genes
    base[len(markers) : len(markers) + len(MT_GENES)] = 4.0  # MT genes: ~2-3% of counts in healthy cells
    expression = np.tile(base, (len(types), 1))
    for t, name in enumerate(types):
        for gene in CELL_TYPES[name]:
            expression[t, genes.index(gene)] *= 25.0
    profile = expression[cell_type]
    profile *= rng.lognormal(0.0, 0.1, size=(len(DONORS), n_genes))[donor]
    profile *= rng.lognormal(0.0, 0.15, size=(len(BATCHES), n_genes))[batch]
    mt = slice(len(markers), len(markers) + len(MT_GENES))
    damaged = rng.random(n_cells) < 0.04
    profile[damaged, mt] *= 12.0  # damaged cells: ~25-30% mitochondrial counts
    profile /= profile.sum(axis=1, keepdims=True)
    library = rng.lognormal(np.log(2500), 0.35, size=n_cells)
    empty = rng.random(n_cells) < 0.03
    library[empty] = rng.uniform(60, 150, size=int(empty.sum()))  # empty droplets: few genes
    mean = profile * library[:, None]
    dispersion = 0.2
    counts = rng.poisson(rng.gamma(1.0 / dispersion, mean * dispersion)).astype(np.int32)

    matrix = pd.DataFrame(counts.T, index=pd.Index(genes, name="gene"), columns=cells)
    metadata = pd.DataFrame(
        {
            "cell": cells,
            "cell_type": [types[t] for t in cell_type],
            "donor": [DONORS[d] for d in donor],
            "batch": [BATCHES[b] for b in batch],
        }
    )
    return matrix, metadata


def write_demo(
    counts_path: str | os.PathLike[str], metadata_path: str | os.PathLike[str], *, n_cells: int, n_genes: int, seed: int
) -> None:
    """Write the demo counts (gzip CSV, genes x cells; mtime 0 for reproducible bytes) and metadata TSV."""
    matrix, metadata = simulate_pbmc(n_cells, n_genes, seed)
    text = io.StringIO()
    matrix.to_csv(text, lineterminator="\n")
    with open(counts_path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as handle:
        handle.write(text.getvalue().encode())
    metadata.to_csv(metadata_path, sep="\t", index=False, lineterminator="\n")
