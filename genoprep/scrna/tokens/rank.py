"""The spec's plain rank, done right: gene indices by raw count, deterministic, non-zero only.

Per cell: the dataset's genes with a non-zero count, ordered by count descending, ties by
gene index ascending, at most ``n_genes``; the ids are indices into the dataset's
``features`` (no vocabulary). How far Geneformer's median scaling moves this order is
reported by the Geneformer tokenizer (``with_spearman``) as the mean per-cell Spearman
correlation between count and Geneformer value.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from genoprep.errors import InputError
from genoprep.scrna.tokens import kernels
from genoprep.scrna.tokens.chunks import SchemeOptions, TokenChunk, TokenStats, as_csr, capacity, kernel_arrays


@dataclasses.dataclass(frozen=True)
class RankOptions(SchemeOptions):
    """``params.rank`` of a card."""

    scheme: ClassVar[str] = "rank"

    n_genes: int


class RankTokenizer:
    """Plain rank tokens of a dataset's cells, one CSR chunk of raw counts at a time."""

    scheme = "rank"
    ids_column = "input_ids"

    def __init__(self, n_features: int, options: RankOptions) -> None:
        self.n_features = n_features
        self.options = options
        self.stats = TokenStats()

    def parameters(self) -> dict[str, Any]:
        return {
            "scheme": self.scheme,
            "n_genes": self.options.n_genes,
            "ids": "indices into features",
            "order": "raw count descending, ties by gene index ascending",
        }

    def tokenize_chunk(self, counts: Any, first_cell: int = 0) -> TokenChunk:
        del first_cell
        matrix = as_csr(counts, canonical=True)
        if matrix.shape[1] != self.n_features:
            raise InputError("counts", f"chunk has {matrix.shape[1]} genes, the dataset {self.n_features}")
        ids, lengths, counters = kernels.rank_kernel(
            *kernel_arrays(matrix), self.options.n_genes, capacity(matrix.indptr, self.options.n_genes, 0)
        )
        return self.stats.chunk(lengths, ids, counters)

    def summary(self, spearman: TokenStats | None = None) -> dict[str, Any]:
        """The scheme's section of qc.json; ``spearman`` = the Geneformer tokenizer's stats when it
        ran with ``with_spearman`` (else the correlation is reported as null)."""
        section: dict[str, Any] = {"n_genes": self.options.n_genes, **self.stats.cells()}
        if spearman is not None and spearman.spearman_cells:
            section["mean_spearman_vs_geneformer"] = spearman.spearman_sum / spearman.spearman_cells
            section["spearman_cells"] = spearman.spearman_cells
        else:
            section["mean_spearman_vs_geneformer"] = None
            section["spearman_cells"] = 0
        return section
