"""The token rules of the workflow (rules/scrna_tokens.smk): what each rule reads and writes.

The token rules sit beside the scRNA-seq chain and read only what exists whatever the
chain's internals: the card's raw input (streamed chunk by chunk from a CSR h5ad, else read
with the chain's reader; :mod:`genoprep.scrna.tokens.source`), the finished ``qc_cells.tsv``
(every input cell, ``removed_by`` empty for the cells that passed QC) and ``processed.h5ad``
(opened backed: the labels of the kept cells; for scGPT its normalize_total + log1p values and
``var.highly_variable``, read a chunk at a time).

- :class:`TokenOptions`: the rules' params (``options_of(TokenOptions, ...)``);
- :func:`derive_dictionaries`: the dataset-derived gene-median and token dictionaries (JSON);
- :func:`tokenize_scheme`: one scheme's Parquet table and its qc section (``tokens/<scheme>.json``);
- :func:`tokens_section`: ``tokens.json`` (the sections) and the facts for the completed card.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Self

import anndata as ad
import numpy as np
import pandas as pd
from scipy import sparse

from genoprep.dictionaries import load_dictionary, save_dictionary
from genoprep.errors import InputError
from genoprep.options import StepOptions, freeze
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
from genoprep.scrna.tokens.source import CHUNK_CELLS, read_raw

ARTIFACT = {"geneformer": "geneformer.parquet", "scgpt": "scgpt.parquet", "rank": "rank.parquet"}
DICTIONARY_FIELDS = {
    "geneformer": ("token_dictionary", "gene_median_dictionary", "gene_name_id_dictionary"),
    "scgpt": ("vocab",),
}
#: the dataset-derived Geneformer dictionaries, under RESULTS/.work/<dataset>/
DERIVED = {
    "gene_median_dictionary": "tokens/gene_median_dictionary.json",
    "token_dictionary": "tokens/token_dictionary.json",
}


def artifact_names(card: Any) -> list[str]:
    """The token artifacts of a card (``params.tokenizers``, in the card's order) and tokens.json."""
    schemes = list(card.params["tokenizers"])
    return [ARTIFACT[s] for s in schemes] + (["tokens.json"] if schemes else [])


def dictionary_files(card: Any, scheme: str, work: Any) -> dict[str, str]:
    """The dictionary files of a scheme's job by settings field (the rule's named inputs): the card's,
    resolved against its folder, and for Geneformer the dataset-derived ones where the card has
    none (``work(name)`` gives their path)."""
    settings = card.params[scheme]
    files = {
        field: os.fspath(card.resolve(settings[field]))
        for field in DICTIONARY_FIELDS.get(scheme, ())
        if settings.get(field) is not None
    }
    if scheme == "geneformer":
        for field, name in DERIVED.items():
            files.setdefault(field, work(name))
    return files


@dataclasses.dataclass(frozen=True)
class TokenOptions(StepOptions):
    """Rules ``scrna_gene_medians`` and ``scrna_tokens``: how to read the raw input, and one scheme's
    settings as the card gives them (dictionary paths unresolved: the files are the rule's named
    inputs, :func:`dictionary_files`, so a changed file reruns the job)."""

    dataset_id: str
    format: str
    orientation: str | None
    layer: str | None
    columns: Mapping[str, str | int]
    scheme: str
    settings: Mapping[str, Any]
    with_spearman: bool  # Geneformer also scores the rank's Spearman (both schemes chosen)

    @classmethod
    def from_card(cls, card: Mapping[str, Any], scheme: str | None = None) -> Self:
        if scheme is None:
            raise TypeError("TokenOptions.from_card needs the scheme's name")
        params, columns, spec = card["params"], card.get("columns") or {}, card["input"]
        return cls(
            dataset_id=card["dataset_id"],
            format=spec["format"],
            orientation=spec.get("orientation"),
            layer=spec.get("layer"),
            columns=freeze({k: columns[k] for k in ("gene_ids", "gene_symbols") if k in columns}),
            scheme=scheme,
            settings=freeze(params[scheme]),
            with_spearman=scheme == "geneformer" and "rank" in params["tokenizers"],
        )

    def scheme_card(self, files: Mapping[str, str]) -> dict[str, Any]:
        """A card-shaped dict for the scheme's own options: its settings, dictionary paths = ``files``."""
        return {"params": {self.scheme: {**self.settings, **files}}}


def token_params(card: Mapping[str, Any], scheme: str) -> dict[str, Any]:
    """A token rule's ``params`` entry: :class:`TokenOptions` of the card (a validated card dict)."""
    return TokenOptions.from_card(card, scheme).as_params()


# --- inputs --------------------------------------------------------------------------------------------------


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
    data_path: str,
    options: TokenOptions,
    qc_cells_path: str,
    medians_path: str,
    tokens_path: str,
    name_id_path: str | None = None,
) -> dict[str, int]:
    """The non-zero gene medians of the QC-passing cells, and a token dictionary numbering those genes
    after the version's special tokens (both JSON); returns their sizes."""
    raw = read_raw(data_path, options, qc_cells_path)
    name_id = None
    if name_id_path is not None:
        name_id, _ = load_dictionary(name_id_path, "gene name id dictionary")
    accumulator = GeneMedianAccumulator(raw.geneformer_names, name_id)
    for _, chunk in raw.chunks():
        accumulator.add(chunk)
    medians = accumulator.medians()
    if not medians:
        raise InputError(
            data_path,
            "no gene with an Ensembl id has a non-zero count in the QC-passing cells: "
            "no gene medians can be derived (map params.columns.gene_ids)",
        )
    tokens = derived_token_dictionary(medians, options.settings["version"])
    save_dictionary(medians, medians_path)
    save_dictionary(tokens, tokens_path)
    return {"genes": len(medians)}


def write_synthetic_gene_ids(counts_path: str, output: str) -> int:
    """For the embedded demo (simulated gene symbols, no Ensembl ids): a gene-name dictionary giving
    each gene of a genes x cells CSV a synthetic id ``ENSG9`` + 10 digits (names in file order;
    the ``ENSG9`` range holds no real gene), so that Geneformer can key on them. Returns the genes."""
    names = pd.read_csv(counts_path, usecols=[0], dtype=str).iloc[:, 0]
    save_dictionary({name: f"ENSG9{i:010d}" for i, name in enumerate(names, start=1)}, output)
    return len(names)


def tokenize_scheme(
    options: TokenOptions,
    data_path: str,
    qc_cells_path: str,
    processed_path: str,
    output: str,
    files: Mapping[str, str],
) -> dict[str, Any]:
    """One scheme's Parquet table; returns its qc section (with the input cells QC dropped).

    ``files``: the dictionary files by settings field (:func:`dictionary_files`)."""
    scheme, card = options.scheme, options.scheme_card(files)
    given = {field: options.settings.get(field) for field in DICTIONARY_FIELDS.get(scheme, ())}
    if scheme == "scgpt":
        cells = pd.read_csv(qc_cells_path, sep="\t", dtype=str, keep_default_na=False)
        kept_ids = cells.loc[cells["removed_by"] == "", "cell_id"].tolist()
        processed = read_processed(processed_path, kept_ids)
        scgpt = ScgptOptions.from_card(card)
        symbols = [s if s else n for s, n in zip(processed.var["gene_symbols"].astype(str), processed.var_names)]
        hvg = processed.var["highly_variable"].to_numpy() if "highly_variable" in processed.var else None
        tokenizer: Any = ScgptTokenizer(ScgptVocabulary.load(scgpt.vocab), symbols, scgpt, hvg)

        def chunks() -> Iterator[tuple[int, Any]]:
            for start in range(0, processed.n_obs, CHUNK_CELLS):
                yield start, sparse.csr_matrix(processed.X[start : start + CHUNK_CELLS])

        write_tokens(tokenizer, chunks(), output, np.asarray(kept_ids, dtype=object), labels_of(processed))
        section = tokenizer.summary()
        section["vocabulary"] = {**section["vocabulary"], "path": given["vocab"]}
        n_input = len(cells)
    else:
        raw = read_raw(data_path, options, qc_cells_path)
        processed = read_processed(processed_path, raw.cell_ids)
        if scheme == "geneformer":
            geneformer = GeneformerOptions.from_card(card)
            tokenizer = GeneformerTokenizer(
                GeneformerVocabulary.load(geneformer),
                raw.geneformer_names,
                geneformer,
                with_spearman=options.with_spearman,
            )
        else:
            tokenizer = RankTokenizer(raw.n_genes, RankOptions.from_card(card))
        write_tokens(tokenizer, raw.chunks(), output, raw.cell_ids, labels_of(processed))
        section = tokenizer.summary()
        if scheme == "geneformer":
            section["dictionaries"] = card_dictionary_facts(section["dictionaries"], given)
            if options.with_spearman:
                section["spearman"] = {"sum": tokenizer.stats.spearman_sum, "cells": tokenizer.stats.spearman_cells}
        n_input = raw.cells_in_input
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
