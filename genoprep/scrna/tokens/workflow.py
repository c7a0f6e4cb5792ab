"""The token rules of the workflow (rules/scrna_tokens.smk): what each rule reads and writes.

The token rules sit beside the scRNA-seq chain and read only what exists whatever the
chain's internals: the card's raw input (read with the chain's reader,
:func:`genoprep.scrna.io.read_matrix`, genes annotated by
:func:`genoprep.scrna.annotate.annotate_genes`), the finished ``qc_cells.tsv`` (every input
cell, ``removed_by`` empty for the cells that passed QC) and ``processed.h5ad`` (the labels
of the kept cells; for scGPT its normalize_total + log1p values and ``var.highly_variable``).

- :func:`derive_dictionaries`: the dataset-derived gene-median and token dictionaries (JSON);
- :func:`tokenize_scheme`: one scheme's Parquet table and its qc section (``tokens/<scheme>.json``);
- :func:`tokens_section`: ``tokens.json`` (the sections) and the facts for the completed card.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
from scipy import sparse

from genoprep.dictionaries import save_dictionary
from genoprep.errors import InputError
from genoprep.scrna import annotate, io
from genoprep.scrna.tokens.chunks import TokenStats
from genoprep.scrna.tokens.geneformer import (
    GeneformerOptions,
    GeneformerTokenizer,
    GeneformerVocabulary,
    GeneMedianAccumulator,
    derived_token_dictionary,
)
from genoprep.scrna.tokens.parquet import LABELS, write_tokens
from genoprep.scrna.tokens.rank import RankOptions, RankTokenizer
from genoprep.scrna.tokens.scgpt import ScgptOptions, ScgptTokenizer, ScgptVocabulary

CHUNK_CELLS = 10_000
ARTIFACT = {"geneformer": "geneformer.parquet", "scgpt": "scgpt.parquet", "rank": "rank.parquet"}
DICTIONARY_FIELDS = {
    "geneformer": ("token_dictionary", "gene_median_dictionary", "gene_name_id_dictionary"),
    "scgpt": ("vocab",),
}


def artifact_names(card: Any) -> list[str]:
    """The token artifacts of a card (``params.tokenizers``, in the card's order) and tokens.json."""
    schemes = list(card.params["tokenizers"])
    return [ARTIFACT[s] for s in schemes] + (["tokens.json"] if schemes else [])


def dictionary_paths(card: Any, scheme: str) -> dict[str, str]:
    """The card's dictionary files of a scheme, resolved against the card's folder (unset ones left out)."""
    settings = card.params.get(scheme, {})
    return {
        field: os.fspath(card.resolve(settings[field]))
        for field in DICTIONARY_FIELDS.get(scheme, ())
        if settings.get(field) is not None
    }


def needs_derived(card: Any) -> bool:
    """Whether Geneformer is chosen without a gene-median dictionary (derived from the dataset then)."""
    return "geneformer" in card.params["tokenizers"] and card.params["geneformer"]["gene_median_dictionary"] is None


def step_params(card: Any, scheme: str) -> dict[str, Any]:
    """The rule's params: the input spec, gene columns and the scheme's settings with resolved paths."""
    spec = card.data["input"] if "input" in card.data else card.data["inputs"][0]
    columns = card.data.get("columns", {})
    settings = {**card.params.get(scheme, {}), **dictionary_paths(card, scheme)}
    return {
        "dataset_id": card.dataset_id,
        "format": spec["format"],
        "orientation": spec.get("orientation"),
        "layer": spec.get("layer"),
        "columns": {k: columns[k] for k in ("gene_ids", "gene_symbols") if k in columns},
        "scheme": scheme,
        "settings": settings,
        "with_spearman": "rank" in card.params["tokenizers"],
        "given": {k: card.params.get(scheme, {}).get(k) for k in DICTIONARY_FIELDS.get(scheme, ())},
    }


# --- inputs --------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class RawCounts:
    """The raw matrix of the kept cells' rows, with the gene names the schemes key on."""

    matrix: sparse.csr_matrix  # all input cells x all input genes
    kept: np.ndarray  # row indices of the cells that passed QC, in input order
    cell_ids: np.ndarray  # of the kept cells
    geneformer_names: list[str]  # Ensembl id where known, else the symbol
    cells_in_input: int

    def chunks(self) -> Iterator[tuple[int, sparse.csr_matrix]]:
        """``(first_cell, rows)`` over the kept cells, ``CHUNK_CELLS`` at a time (raw rows copied per chunk)."""
        for start in range(0, self.kept.shape[0], CHUNK_CELLS):
            yield start, self.matrix[self.kept[start : start + CHUNK_CELLS]]


def read_raw(data_path: str, params: Mapping[str, Any], qc_cells_path: str) -> RawCounts:
    """The card's raw input and the QC-passing cells of ``qc_cells.tsv`` (same cells, same order)."""
    adata = io.read_matrix(data_path, params["format"], orientation=params["orientation"], layer=params["layer"])
    annotate.annotate_genes(adata, params["columns"], str(data_path))
    cells = pd.read_csv(qc_cells_path, sep="\t", dtype=str, keep_default_na=False)
    if cells["cell_id"].tolist() != adata.obs_names.tolist():
        raise InputError(
            qc_cells_path,
            f"lists {len(cells)} cells, not the {adata.n_obs} cells of {data_path} "
            "in their order (stale qc_cells.tsv?)",
        )
    kept = np.flatnonzero((cells["removed_by"] == "").to_numpy())
    matrix = adata.X if adata.X.dtype in (np.float32, np.float64) else adata.X.astype(np.float64)
    ids = adata.var["gene_ids"].astype(str).to_numpy()
    symbols = adata.var["gene_symbols"].astype(str).to_numpy()
    names = [i if i else (s if s else n) for i, s, n in zip(ids, symbols, adata.var_names)]
    return RawCounts(
        sparse.csr_matrix(matrix), kept, adata.obs_names.to_numpy()[kept].astype(object), names, adata.n_obs
    )


def read_processed(path: str, cell_ids: Sequence[str] | None) -> ad.AnnData:
    """processed.h5ad opened read-only (X stays on disk); its cells must be ``cell_ids`` in order."""
    adata = ad.read_h5ad(path, backed="r")
    if cell_ids is not None and adata.obs_names.tolist() != list(cell_ids):
        raise InputError(path, f"has {adata.n_obs} cells, not the {len(cell_ids)} QC-passing cells of qc_cells.tsv")
    return adata


def labels_of(processed: ad.AnnData) -> dict[str, np.ndarray]:
    return {name: processed.obs[name].astype(str).to_numpy() for name in LABELS if name in processed.obs}


# --- rules ---------------------------------------------------------------------------------------------------


def derive_dictionaries(
    data_path: str, params: Mapping[str, Any], qc_cells_path: str, medians_path: str, tokens_path: str
) -> dict[str, int]:
    """The non-zero gene medians of the QC-passing cells, and a token dictionary numbering those genes
    after the version's special tokens (both JSON); returns their sizes."""
    raw = read_raw(data_path, params, qc_cells_path)
    accumulator = GeneMedianAccumulator(raw.geneformer_names)
    for _, chunk in raw.chunks():
        accumulator.add(chunk)
    medians = accumulator.medians()
    if not medians:
        raise InputError(
            data_path,
            "no gene with an Ensembl id has a non-zero count in the QC-passing cells: "
            "no gene medians can be derived (map params.columns.gene_ids)",
        )
    tokens = derived_token_dictionary(medians, params["settings"]["version"])
    save_dictionary(medians, medians_path)
    save_dictionary(tokens, tokens_path)
    return {"genes": len(medians)}


def tokenize_scheme(
    data_path: str,
    params: Mapping[str, Any],
    qc_cells_path: str,
    processed_path: str,
    output: str,
    derived: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """One scheme's Parquet table; returns its qc section (with the input cells QC dropped)."""
    scheme, settings = params["scheme"], dict(params["settings"])
    card = {"params": {scheme: {**settings, **(derived or {})}}}
    if scheme == "scgpt":
        cells = pd.read_csv(qc_cells_path, sep="\t", dtype=str, keep_default_na=False)
        kept_ids = cells.loc[cells["removed_by"] == "", "cell_id"].tolist()
        processed = read_processed(processed_path, kept_ids)
        options = ScgptOptions.from_card(card)
        symbols = [s if s else n for s, n in zip(processed.var["gene_symbols"].astype(str), processed.var_names)]
        hvg = processed.var["highly_variable"].to_numpy() if "highly_variable" in processed.var else None
        tokenizer: Any = ScgptTokenizer(ScgptVocabulary.load(options.vocab), symbols, options, hvg)

        def chunks() -> Iterator[tuple[int, Any]]:
            for start in range(0, processed.n_obs, CHUNK_CELLS):
                yield start, sparse.csr_matrix(processed.X[start : start + CHUNK_CELLS])

        write_tokens(tokenizer, chunks(), output, np.asarray(kept_ids, dtype=object), labels_of(processed))
        section = tokenizer.summary()
        n_input = len(cells)
    else:
        raw = read_raw(data_path, params, qc_cells_path)
        processed = read_processed(processed_path, raw.cell_ids)
        if scheme == "geneformer":
            options = GeneformerOptions.from_card(card)
            tokenizer = GeneformerTokenizer(
                GeneformerVocabulary.load(options), raw.geneformer_names, options, with_spearman=params["with_spearman"]
            )
        else:
            tokenizer = RankTokenizer(raw.matrix.shape[1], RankOptions.from_card(card))
        write_tokens(tokenizer, raw.chunks(), output, raw.cell_ids, labels_of(processed))
        section = tokenizer.summary()
        if scheme == "geneformer":
            section["dictionaries"] = card_dictionary_facts(section["dictionaries"], params["given"])
            if params["with_spearman"]:
                section["spearman"] = {"sum": tokenizer.stats.spearman_sum, "cells": tokenizer.stats.spearman_cells}
        n_input = raw.cells_in_input
    if scheme == "scgpt":
        section["vocabulary"] = {**section["vocabulary"], "path": params["given"]["vocab"]}
    n_kept = section["cells_tokenised"] + section["cells_dropped_empty"]
    return {"cells_in_input": n_input, "cells_failed_qc": n_input - n_kept, **section}


def card_dictionary_facts(facts: Mapping[str, Mapping[str, Any]], given: Mapping[str, str | None]) -> dict[str, Any]:
    """Dictionary facts without run-specific paths: the card's own path, or derived from the dataset."""
    out = {}
    for field, fact in facts.items():
        path = given.get(field)
        out[field] = (
            {**fact, "path": path}
            if path is not None
            else {**{k: v for k, v in fact.items() if k != "path"}, "derived_from_dataset": True}
        )
    return out


def tokens_section(sections: Mapping[str, Mapping[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``tokens.json`` (each scheme's section, the rank's Spearman filled from Geneformer's) and the
    completed card's facts (per scheme: its version/settings and dictionary facts)."""
    tokens: dict[str, Any] = {}
    spearman = sections.get("geneformer", {}).get("spearman")
    for scheme, section in sections.items():
        section = {k: v for k, v in section.items() if k != "spearman"}
        if scheme == "rank":
            stats = TokenStats(spearman_sum=spearman["sum"], spearman_cells=spearman["cells"]) if spearman else None
            if stats is not None and stats.spearman_cells:
                section["mean_spearman_vs_geneformer"] = stats.spearman_sum / stats.spearman_cells
                section["spearman_cells"] = stats.spearman_cells
        tokens[scheme] = section
    facts: dict[str, Any] = {}
    for scheme, section in tokens.items():
        if scheme == "geneformer":
            facts[scheme] = {
                "version": section["version"],
                "model_input_size": section["model_input_size"],
                "special_tokens": section["special_tokens"],
                "dictionaries": section["dictionaries"],
            }
        elif scheme == "scgpt":
            facts[scheme] = {
                "n_bins": section["n_bins"],
                "max_len": section["max_len"],
                "vocabulary": section["vocabulary"],
            }
        else:
            facts[scheme] = {"n_genes": section["n_genes"]}
        facts[scheme]["cells_tokenised"] = section["cells_tokenised"]
    return tokens, {"tokens": facts}
