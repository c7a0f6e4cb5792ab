"""Geneformer rank-value tokens (V1 and V2), exact and deterministic, one chunk of cells at a time.

Rules (issue 11; where upstream Geneformer leaves a choice open, genoprep's choice is named):

- input: the raw counts of **all genes** of the cells that pass QC; ``n_counts`` = the cell's
  total over **all** genes of the input matrix (also those outside the dictionaries);
- genes keyed by Ensembl id: when the names are Ensembl ids (the shared 90 % rule of
  ``genoprep.tables.looks_like_ensembl``) they are upper-cased and lose a version suffix
  (``.12``); otherwise each name is looked up in the gene-name dictionary (exact symbol);
  columns with the same id are summed; genes absent from the token or the median
  dictionary are dropped (their share of the counts is reported);
- value = ``count / n_counts * 10000 / median`` in float64, evaluated left to right;
  non-zero genes only; order = value descending, **ties by token id ascending** (upstream
  sorts with an unstable sort: tied genes have no defined order there);
- V1: 2048 genes, no special tokens; V2: 4096 tokens = ``<cls>`` + 4094 genes + ``<eos>``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
from scipy import sparse

from genoprep.dictionaries import check_values, is_positive_number, is_token_id, load_dictionary
from genoprep.errors import InputError
from genoprep.scrna.tokens import kernels
from genoprep.scrna.tokens.chunks import SchemeOptions, TokenChunk, TokenStats, as_csr, capacity, kernel_arrays
from genoprep.tables import ENSEMBL_ID, looks_like_ensembl

TARGET_SUM = 10_000.0


@dataclasses.dataclass(frozen=True)
class VersionSpec:
    """What a Geneformer model version expects of its input and of its token dictionary."""

    model_input_size: int
    special_tokens: bool
    specials: Mapping[str, int]


VERSIONS: dict[str, VersionSpec] = {
    "v1": VersionSpec(2048, False, {"<pad>": 0, "<mask>": 1}),
    "v2": VersionSpec(4096, True, {"<pad>": 0, "<mask>": 1, "<cls>": 2, "<eos>": 3}),
}
FRAME_TOKENS = ("<cls>", "<eos>")


@dataclasses.dataclass(frozen=True)
class GeneformerOptions(SchemeOptions):
    """``params.geneformer`` of a card (defaults in genoprep/schemas/modality/scrna_tokens.schema.yaml)."""

    scheme: ClassVar[str] = "geneformer"

    version: str
    model_input_size: int | None
    special_tokens: bool | None
    token_dictionary: str | None
    gene_median_dictionary: str | None
    gene_name_id_dictionary: str | None

    @property
    def input_size(self) -> int:
        return self.model_input_size if self.model_input_size is not None else VERSIONS[self.version].model_input_size

    @property
    def with_specials(self) -> bool:
        return self.special_tokens if self.special_tokens is not None else VERSIONS[self.version].special_tokens


def check_token_dictionary(tokens: Mapping[str, int], version: str, special_tokens: bool, source: str) -> None:
    """Refuse (one line) a token dictionary whose special tokens do not fit the chosen version.

    A wrong dictionary gives valid-looking wrong ids, so the check is strict: the version's
    special tokens at their ids, no ``<cls>``/``<eos>`` in a V1 dictionary, both of them
    when special tokens are written, and no gene on a special token's id.
    """
    spec = VERSIONS[version]
    check_values(tokens, source, "token dictionary", is_token_id, "a non-negative integer token id")
    for name, expected in spec.specials.items():
        if tokens.get(name) != expected:
            found = "absent" if name not in tokens else f"id {tokens[name]}"
            raise InputError(
                source,
                f"token dictionary does not fit Geneformer {version}: {name} is {found}, "
                f"{version} needs {name}={expected} ({_spec_text(spec)})",
            )
    if version == "v1":
        present = [name for name in FRAME_TOKENS if name in tokens]
        if present:
            raise InputError(
                source,
                f"token dictionary does not fit Geneformer v1: it has {'/'.join(present)} "
                "(a V2 dictionary); set geneformer.version: v2",
            )
    if special_tokens:
        missing = [name for name in FRAME_TOKENS if name not in tokens]
        if missing:
            raise InputError(
                source,
                f"token dictionary has no {'/'.join(missing)} but geneformer.special_tokens is true (a V1 dictionary)",
            )
    special_ids = {token for name, token in tokens.items() if _is_special(name)}
    genes = {name: token for name, token in tokens.items() if not _is_special(name)}
    clash = [name for name, token in genes.items() if token in special_ids]
    if clash:
        raise InputError(
            source, f"token dictionary gives gene {clash[0]} the id of a special token ({genes[clash[0]]})"
        )
    if len(set(genes.values())) != len(genes):
        raise InputError(source, "token dictionary gives the same id to two genes")


def _is_special(name: str) -> bool:
    return name.startswith("<") and name.endswith(">")


def _spec_text(spec: VersionSpec) -> str:
    return ", ".join(f"{name}={token}" for name, token in spec.specials.items())


def normalise_ensembl_id(name: str) -> str:
    """Upper-case, without an Ensembl version suffix (``ensg00000141510.16`` -> ``ENSG00000141510``)."""
    return name.strip().upper().split(".", 1)[0]


def ensembl_ids_of(names: Sequence[str], gene_name_id: Mapping[str, str] | None) -> list[str | None]:
    """Each gene's Ensembl id (None when it has none).

    Whether the names are Ensembl ids is decided for the whole list by the shared rule
    (:func:`genoprep.tables.looks_like_ensembl`, on the upper-cased names): if they are,
    each id is normalised and a name that is not an id (a spike-in, say) is still looked
    up as a symbol; otherwise every name is looked up (exact symbol) in ``gene_name_id``.
    """
    upper = [str(name).strip().upper() for name in names]

    def by_symbol(name: str) -> str | None:
        if gene_name_id is None or name not in gene_name_id:
            return None
        return normalise_ensembl_id(str(gene_name_id[name]))

    if looks_like_ensembl(upper):
        return [u.split(".", 1)[0] if ENSEMBL_ID.match(u) else by_symbol(str(n)) for n, u in zip(names, upper)]
    return [by_symbol(str(name)) for name in names]


@dataclasses.dataclass
class GeneformerVocabulary:
    """A checked set of Geneformer dictionaries (token, gene median, optional gene name -> id)."""

    version: str
    special_tokens: bool
    tokens: dict[str, int]
    medians: dict[str, float]
    gene_name_id: dict[str, str] | None
    facts: dict[str, dict[str, Any]]

    @classmethod
    def load(
        cls,
        options: GeneformerOptions,
        *,
        tokens: Mapping[str, int] | None = None,
        medians: Mapping[str, float] | None = None,
    ) -> GeneformerVocabulary:
        """Read the dictionaries named in ``options`` (or take derived ones) and check that they fit."""
        facts: dict[str, dict[str, Any]] = {}
        loaded: dict[str, Any] = {}
        for field, given in (("token_dictionary", tokens), ("gene_median_dictionary", medians)):
            path = getattr(options, field)
            if given is not None:
                loaded[field] = dict(given)
                facts[field] = {"derived_from_dataset": True, "entries": len(given)}
            elif path is None:
                raise InputError("card", f"params.geneformer.{field} is not set and no derived dictionary was given")
            else:
                loaded[field], file_facts = load_dictionary(path, field.replace("_", " "))
                facts[field] = file_facts.as_dict()
        name_id = None
        if options.gene_name_id_dictionary is not None:
            name_id, file_facts = load_dictionary(options.gene_name_id_dictionary, "gene name id dictionary")
            check_values(
                name_id,
                options.gene_name_id_dictionary,
                "gene name id dictionary",
                lambda v: isinstance(v, str),
                "an Ensembl gene id",
            )
            facts["gene_name_id_dictionary"] = file_facts.as_dict()
        token_source = options.token_dictionary or "derived token dictionary"
        check_token_dictionary(loaded["token_dictionary"], options.version, options.with_specials, token_source)
        median_source = options.gene_median_dictionary or "derived gene median dictionary"
        check_values(
            loaded["gene_median_dictionary"],
            median_source,
            "gene median dictionary",
            is_positive_number,
            "a positive finite number",
        )
        facts["token_dictionary"]["fits_version"] = options.version
        return cls(
            version=options.version,
            special_tokens=options.with_specials,
            tokens={k.upper() if not k.startswith("<") else k: int(v) for k, v in loaded["token_dictionary"].items()},
            medians={k.upper(): float(v) for k, v in loaded["gene_median_dictionary"].items()},
            gene_name_id=name_id,
            facts=facts,
        )


class GeneformerTokenizer:
    """Geneformer tokens for the columns of one dataset, one CSR chunk of raw counts at a time."""

    scheme = "geneformer"
    ids_column = "input_ids"

    def __init__(
        self,
        vocabulary: GeneformerVocabulary,
        gene_names: Sequence[str],
        options: GeneformerOptions,
        *,
        with_spearman: bool = False,
    ) -> None:
        self.vocabulary = vocabulary
        self.options = options
        self.with_spearman = with_spearman
        ids = ensembl_ids_of(gene_names, vocabulary.gene_name_id)
        self.n_features = len(ids)
        n_tokens = max(vocabulary.tokens.values()) + 1
        self.median = np.full(n_tokens, np.nan)
        self.gene_token = np.full(len(ids), -1, np.int32)
        for column, gene in enumerate(ids):
            if gene is not None and gene in vocabulary.tokens and gene in vocabulary.medians:
                token = vocabulary.tokens[gene]
                self.gene_token[column] = token
                self.median[token] = vocabulary.medians[gene]
        specials = vocabulary.special_tokens
        self.cls_id = vocabulary.tokens["<cls>"] if specials else -1
        self.eos_id = vocabulary.tokens["<eos>"] if specials else -1
        self.n_genes = options.input_size - (2 if specials else 0)
        if self.n_genes < 1:
            raise InputError(
                "card", f"params.geneformer.model_input_size {options.input_size} leaves no room for genes"
            )
        if not (self.gene_token >= 0).any():
            hint = (
                "the names are not Ensembl ids and no gene_name_id_dictionary is set"
                if vocabulary.gene_name_id is None and not any(ids)
                else "wrong dictionaries or species?"
            )
            raise InputError(
                "genes",
                f"none of the {len(ids)} genes is in both Geneformer dictionaries ({hint}), "
                f"e.g. {', '.join(map(str, list(gene_names)[:3]))}",
            )
        self.stats = TokenStats()
        in_vocabulary = self.gene_token[self.gene_token >= 0]
        self.merge_duplicates = bool(np.unique(in_vocabulary).shape[0] < in_vocabulary.shape[0])
        self.genes = {
            "genes_in_input": len(ids),
            "genes_with_ensembl_id": sum(g is not None for g in ids),
            "genes_in_vocabulary": int((self.gene_token >= 0).sum()),
            "distinct_tokens": int(np.unique(self.gene_token[self.gene_token >= 0]).shape[0]),
        }

    def parameters(self) -> dict[str, Any]:
        """Scheme parameters written into the Parquet schema metadata."""
        return {
            "scheme": self.scheme,
            "version": self.options.version,
            "model_input_size": self.options.input_size,
            "special_tokens": self.vocabulary.special_tokens,
            "genes_per_cell": self.n_genes,
            "target_sum": TARGET_SUM,
            "tie_break": "token id ascending",
            "n_counts": "total over all genes of the input matrix",
            "dictionaries": {k: v.get("sha256", "derived from the dataset") for k, v in self.vocabulary.facts.items()},
        }

    def tokenize_chunk(self, counts: Any, first_cell: int = 0) -> TokenChunk:
        """Tokens of a cells x genes chunk of raw counts (CSR or dense, columns = the dataset's genes)."""
        del first_cell  # Geneformer tokens do not depend on the cell's position
        matrix = as_csr(counts)
        if matrix.shape[1] != self.n_features:
            raise InputError("counts", f"chunk has {matrix.shape[1]} genes, the dataset {self.n_features}")
        specials = 2 if self.cls_id >= 0 else 0
        ids, lengths, counters, in_vocab, total, rho = kernels.geneformer_kernel(
            *kernel_arrays(matrix),
            self.gene_token,
            self.median,
            TARGET_SUM,
            self.n_genes,
            self.cls_id,
            self.eos_id,
            capacity(matrix.indptr, self.n_genes, specials),
            self.with_spearman,
            self.merge_duplicates or not matrix.has_canonical_format,
        )
        chunk = self.stats.chunk(lengths, ids, counters)
        self.stats.counts_total += float(total.sum())
        self.stats.counts_in_vocabulary += float(in_vocab.sum())
        if self.with_spearman:
            self.stats.add_spearman(rho[chunk.kept])
        return chunk

    def summary(self) -> dict[str, Any]:
        """The scheme's section of qc.json."""
        return {
            "version": self.options.version,
            "model_input_size": self.options.input_size,
            "special_tokens": self.vocabulary.special_tokens,
            **self.genes,
            "share_of_counts_in_vocabulary": self.stats.share_in_vocabulary(),
            **self.stats.cells(),
            "dictionaries": self.vocabulary.facts,
        }


class GeneMedianAccumulator:
    """Non-zero median of each gene's normalised value (``count / n_counts * 10000``), streamed.

    :meth:`add` takes chunks of raw counts (columns = the dataset's genes); columns with the
    same Ensembl id are summed first, genes without an id are skipped (but count in
    ``n_counts``). The medians are exact: every non-zero normalised value is kept (float64,
    8 bytes per non-zero count of the dataset: ~360 MB for a 68k-cell PBMC matrix with 45 M
    non-zeros), grouped by gene chunk by chunk, and each gene's values are sorted at the end.
    """

    def __init__(self, gene_names: Sequence[str], gene_name_id: Mapping[str, str] | None = None) -> None:
        ids = ensembl_ids_of(gene_names, gene_name_id)
        self.genes = sorted({g for g in ids if g is not None})
        index = {gene: i for i, gene in enumerate(self.genes)}
        columns = [j for j, g in enumerate(ids) if g is not None]
        self.merge = sparse.csr_matrix(
            (np.ones(len(columns)), (columns, [index[ids[j]] for j in columns])), shape=(len(ids), len(self.genes))
        )
        self.parts: list[tuple[np.ndarray, np.ndarray]] = []

    def add(self, counts: Any) -> None:
        matrix = as_csr(counts).astype(np.float64)
        n_counts = np.asarray(matrix.sum(axis=1)).ravel()
        merged = (matrix @ self.merge).tocsr()
        merged.eliminate_zeros()
        rows = np.repeat(np.arange(merged.shape[0]), np.diff(merged.indptr))
        merged.data = merged.data / n_counts[rows] * TARGET_SUM
        by_gene = merged.tocsc()
        by_gene.sort_indices()
        self.parts.append((np.diff(by_gene.indptr), by_gene.data.copy()))

    def medians(self) -> dict[str, float]:
        """Gene id -> median (genes never seen non-zero are left out), in gene id order."""
        sizes = np.zeros(len(self.genes), np.int64)
        for part_sizes, _ in self.parts:
            sizes += part_sizes
        offsets = np.zeros(len(self.genes) + 1, np.int64)
        np.cumsum(sizes, out=offsets[1:])
        values = np.empty(int(offsets[-1]), np.float64)
        filled = offsets[:-1].copy()
        while self.parts:
            part_sizes, data = self.parts.pop(0)
            starts = np.repeat(filled - np.concatenate(([0], np.cumsum(part_sizes)[:-1])), part_sizes)
            values[starts + np.arange(data.shape[0])] = data
            filled += part_sizes
        medians = kernels.segment_medians(values, offsets)
        return {gene: float(m) for gene, m in zip(self.genes, medians) if not np.isnan(m)}


def derived_token_dictionary(medians: Mapping[str, float], version: str) -> dict[str, int]:
    """A token dictionary for genes with a derived median: the version's special tokens, then the
    genes in Ensembl id order."""
    tokens = dict(VERSIONS[version].specials)
    first = len(tokens)
    for i, gene in enumerate(sorted(medians)):
        tokens[gene] = first + i
    return tokens
