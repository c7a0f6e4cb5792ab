"""scGPT gene ids and value bins, deterministic, one chunk of cells at a time.

Rules (issue 11; genoprep's choices where scGPT's code is random or open are named):

- gene ids from a scGPT vocabulary JSON (symbol -> id); ``<pad>``, ``<cls>``, ``<eoc>``
  are appended after the largest id when missing, in that order, as scGPT's ``GeneVocab``
  does; genes outside the vocabulary are dropped and counted;
- values: the chain's normalize_total + log1p values, cast to float64;
- per cell, over its non-zero values of the genes in the gene set (HVGs or all) and in the
  vocabulary: edges ``np.quantile(nonzero, np.linspace(0, 1, n_bins - 1))``, bin =
  ``np.digitize(value, edges)`` (left side, 1..n_bins-1) — the deterministic variant of
  scGPT's ``_digitize``, which draws an unseeded random bin between the left and right
  digitisation of tied values; zeros are bin 0 (and are not written);
- sequence: ``<cls>`` (value 0) then the genes in the dataset's column order; at most
  ``max_len`` tokens including ``<cls>``; a longer cell keeps ``max_len - 1`` genes
  chosen by a seeded sample (SplitMix64 seeded by the card's seed and the cell's index in
  the dataset, independent of chunking) or by highest value (ties by column), still in
  column order (scGPT keeps its sample's random order).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Self

import numpy as np

from genoprep.dictionaries import check_values, is_token_id, load_dictionary
from genoprep.errors import InputError
from genoprep.scrna.tokens import kernels
from genoprep.scrna.tokens.chunks import SchemeOptions, TokenChunk, TokenStats, as_csr, capacity, kernel_arrays

SPECIAL_TOKENS = ("<pad>", "<cls>", "<eoc>")


@dataclasses.dataclass(frozen=True)
class ScgptOptions(SchemeOptions):
    """``params.scgpt`` of a card."""

    scheme: ClassVar[str] = "scgpt"

    vocab: str | None
    n_bins: int
    max_len: int
    genes: str
    select: str
    seed: int


@dataclasses.dataclass
class ScgptVocabulary:
    """scGPT's gene vocabulary with its special tokens."""

    ids: dict[str, int]
    appended: list[str]
    facts: dict[str, Any]

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, int], source: str, facts: dict[str, Any] | None = None) -> Self:
        check_values(mapping, source, "scGPT vocabulary", is_token_id, "a non-negative integer id")
        ids = {str(k): int(v) for k, v in mapping.items()}
        if len(set(ids.values())) != len(ids):
            raise InputError(source, "scGPT vocabulary gives the same id to two genes")
        appended = []
        for token in SPECIAL_TOKENS:
            if token not in ids:
                ids[token] = max(ids.values(), default=-1) + 1
                appended.append(token)
        return cls(ids=ids, appended=appended, facts={**(facts or {}), "special_tokens_appended": appended})

    @classmethod
    def load(cls, path: str | None) -> Self:
        if path is None:
            raise InputError("card", "params.scgpt.vocab is not set: the scgpt tokens need scGPT's vocabulary JSON")
        mapping, facts = load_dictionary(path, "scGPT vocabulary")
        return cls.from_mapping(mapping, path, facts.as_dict())


class ScgptTokenizer:
    """scGPT tokens for a dataset's genes, one CSR chunk of log-normalised values at a time."""

    scheme = "scgpt"
    ids_column = "genes"

    def __init__(
        self,
        vocabulary: ScgptVocabulary,
        gene_symbols: Sequence[str],
        options: ScgptOptions,
        highly_variable: np.ndarray | None = None,
    ) -> None:
        if options.n_bins < 3:
            raise InputError("card", f"params.scgpt.n_bins is {options.n_bins}; at least 3 are needed")
        if options.max_len < 2:
            raise InputError("card", f"params.scgpt.max_len is {options.max_len}; <cls> and one gene need 2")
        self.vocabulary = vocabulary
        self.options = options
        self.n_features = len(gene_symbols)
        if options.genes == "hvg":
            if highly_variable is None:
                raise InputError("card", "params.scgpt.genes is hvg but no highly-variable genes were given")
            in_set = np.asarray(highly_variable, dtype=bool)
            if in_set.shape != (self.n_features,):
                raise InputError("card", f"{in_set.shape[0]} HVG flags for {self.n_features} genes")
        else:
            in_set = np.ones(self.n_features, dtype=bool)
        self.gene_id = np.full(self.n_features, -1, np.int32)
        for column, symbol in enumerate(gene_symbols):
            token = vocabulary.ids.get(str(symbol))
            if in_set[column] and token is not None and str(symbol) not in SPECIAL_TOKENS:
                self.gene_id[column] = token
        mapped = self.gene_id[self.gene_id >= 0]
        if mapped.shape[0] == 0:
            raise InputError(
                "genes",
                f"none of the {int(in_set.sum())} genes of the set is in the scGPT vocabulary "
                f"(matched by symbol), e.g. {', '.join(map(str, list(gene_symbols)[:3]))}",
            )
        if np.unique(mapped).shape[0] != mapped.shape[0]:
            raise InputError("genes", "two genes of the dataset map to the same scGPT vocabulary id")
        self.quantiles = np.linspace(0, 1, options.n_bins - 1)
        self.stats = TokenStats()
        self.genes = {
            "genes_in_input": self.n_features,
            "genes_in_set": int(in_set.sum()),
            "genes_in_vocabulary": int(mapped.shape[0]),
        }

    def parameters(self) -> dict[str, Any]:
        o = self.options
        return {
            "scheme": self.scheme,
            "n_bins": o.n_bins,
            "max_len": o.max_len,
            "genes": o.genes,
            "select": o.select,
            "seed": o.seed,
            "cls_id": self.vocabulary.ids["<cls>"],
            "pad_id": self.vocabulary.ids["<pad>"],
            "values": "normalize_total + log1p, float64",
            "binning": "np.digitize(value, np.quantile(nonzero, np.linspace(0, 1, n_bins - 1))), left side",
            "order": "<cls> then genes in column order",
            "vocab_sha256": self.vocabulary.facts.get("sha256"),
        }

    def tokenize_chunk(self, values: Any, first_cell: int = 0) -> TokenChunk:
        """Tokens of a chunk of normalised (log1p) values; ``first_cell`` = the chunk's first row in the
        dataset (seeds the per-cell sample)."""
        matrix = as_csr(values, "normalised values", canonical=True)
        if matrix.shape[1] != self.n_features:
            raise InputError("values", f"chunk has {matrix.shape[1]} genes, the dataset {self.n_features}")
        o = self.options
        ids, bins, lengths, counters = kernels.scgpt_kernel(
            *kernel_arrays(matrix),
            self.gene_id,
            self.quantiles,
            o.max_len - 1,
            self.vocabulary.ids["<cls>"],
            o.select == "highest",
            o.seed,
            first_cell,
            capacity(matrix.indptr, o.max_len - 1, 1),
        )
        # share of the normalised counts (expm1 of the values) on genes in the set and the vocabulary
        normalised = np.expm1(matrix.data, dtype=np.float64)
        self.stats.counts_total += float(normalised.sum())
        self.stats.counts_in_vocabulary += float(normalised[self.gene_id[matrix.indices] >= 0].sum())
        return self.stats.chunk(lengths, ids, counters, bins)

    def summary(self) -> dict[str, Any]:
        section = {
            "n_bins": self.options.n_bins,
            "max_len": self.options.max_len,
            "genes": self.options.genes,
            "select": self.options.select,
            **self.genes,
            "share_of_counts_in_vocabulary": self.stats.share_in_vocabulary(),
            **self.stats.cells(),
            "vocabulary": self.vocabulary.facts,
        }
        if self.options.select != "highest":  # a sample has no truncation boundary
            section["ties_at_truncation"] = None
        return section
