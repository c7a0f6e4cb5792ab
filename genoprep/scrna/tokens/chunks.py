"""What every tokenizer returns for a chunk of cells, and the per-scheme counters for qc.json."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar, Self

import numpy as np
from scipy import sparse

from genoprep.errors import InputError
from genoprep.options import StepOptions, freeze


@dataclasses.dataclass(frozen=True)
class SchemeOptions(StepOptions):
    """Options of one token scheme: the fields of the card's ``params.<scheme>`` sub-dict."""

    scheme: ClassVar[str]

    @classmethod
    def from_card(cls, card: Mapping[str, Any]) -> Self:
        settings = card["params"][cls.scheme]
        return cls(**{f.name: freeze(settings[f.name]) for f in dataclasses.fields(cls)})


@dataclasses.dataclass(frozen=True)
class TokenChunk:
    """Tokens of the kept cells of a chunk, as offsets into flat arrays.

    ``kept[i]`` says whether row i of the chunk was tokenised (an empty cell is dropped);
    the kept cells' tokens are ``input_ids[offsets[k]:offsets[k+1]]`` (and ``values`` alike
    for schemes with values, else None).
    """

    kept: np.ndarray
    offsets: np.ndarray
    input_ids: np.ndarray
    values: np.ndarray | None = None

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets).astype(np.int32)

    @classmethod
    def from_lengths(cls, lengths: np.ndarray, input_ids: np.ndarray, values: np.ndarray | None = None) -> TokenChunk:
        kept = lengths > 0
        offsets = np.zeros(int(kept.sum()) + 1, np.int64)
        np.cumsum(lengths[kept], out=offsets[1:])
        return cls(kept=kept, offsets=offsets, input_ids=input_ids, values=values)

    def cell(self, k: int) -> np.ndarray:
        """The tokens of the k-th kept cell (for tests and inspection)."""
        return self.input_ids[self.offsets[k] : self.offsets[k + 1]]


@dataclasses.dataclass
class TokenStats:
    """Counters summed over chunks; :meth:`as_dict` is the scheme's section of qc.json."""

    cells_in: int = 0
    cells_tokenised: int = 0
    cells_dropped_empty: int = 0
    cells_truncated: int = 0
    ties_at_truncation: int = 0
    tokens: int = 0
    counts_total: float = 0.0
    counts_in_vocabulary: float = 0.0
    spearman_sum: float = 0.0
    spearman_cells: int = 0

    def add(self, chunk: TokenChunk, counters: np.ndarray) -> None:
        n = int(chunk.kept.shape[0])
        kept = int(chunk.kept.sum())
        self.cells_in += n
        self.cells_tokenised += kept
        self.cells_dropped_empty += n - kept
        self.cells_truncated += int(counters[0])
        self.ties_at_truncation += int(counters[1])
        self.tokens += int(chunk.input_ids.shape[0])

    def chunk(
        self, lengths: np.ndarray, input_ids: np.ndarray, counters: np.ndarray, values: np.ndarray | None = None
    ) -> TokenChunk:
        """A kernel's output as a :class:`TokenChunk`, counted."""
        chunk = TokenChunk.from_lengths(lengths, input_ids, values)
        self.add(chunk, counters)
        return chunk

    def cells(self) -> dict[str, int]:
        """The per-cell counters of a scheme's qc.json section."""
        return {
            "cells_tokenised": self.cells_tokenised,
            "cells_dropped_empty": self.cells_dropped_empty,
            "cells_truncated": self.cells_truncated,
            "ties_at_truncation": self.ties_at_truncation,
            "tokens": self.tokens,
        }

    def add_spearman(self, rho: np.ndarray) -> None:
        defined = rho[~np.isnan(rho)]
        self.spearman_sum += float(defined.sum())
        self.spearman_cells += int(defined.shape[0])

    def share_in_vocabulary(self) -> float | None:
        return self.counts_in_vocabulary / self.counts_total if self.counts_total > 0 else None


def as_csr(chunk: Any, source: str = "counts", canonical: bool = False) -> sparse.csr_matrix:
    """A CSR view of a chunk (sparse or dense), checked for negative or non-finite values.

    With ``canonical``, rows are sorted by column and duplicate entries summed (on a copy
    when needed; the input is never modified).
    """
    matrix = chunk if sparse.issparse(chunk) else sparse.csr_matrix(np.asarray(chunk))
    if not isinstance(matrix, sparse.csr_matrix):
        matrix = sparse.csr_matrix(matrix)
    if matrix.nnz:
        data = matrix.data
        if not np.isfinite(data).all():
            raise InputError(source, "the matrix holds NaN or infinite values; tokens need finite values")
        if data.min() < 0:
            raise InputError(source, "the matrix holds negative values; tokens need counts or normalised values >= 0")
    if canonical and not matrix.has_canonical_format:
        matrix = matrix.copy()
        matrix.sum_duplicates()
    return matrix


def kernel_arrays(matrix: sparse.csr_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(indptr int64, indices int32, data float32 or float64) of a CSR matrix: few dtype signatures
    for the compiled kernels whatever scipy chose. float32 data (what h5ad files usually hold) is
    passed as it is: the kernels widen each value to float64 exactly, without a copy."""
    data = matrix.data if matrix.data.dtype in (np.float32, np.float64) else matrix.data.astype(np.float64)
    return matrix.indptr.astype(np.int64, copy=False), matrix.indices.astype(np.int32, copy=False), data


def capacity(indptr: np.ndarray, limit: int, specials: int) -> int:
    """Upper bound of a chunk's flat token count: sum of min(nnz, limit) + specials per cell."""
    return int((np.minimum(np.diff(indptr), limit) + specials).sum())
