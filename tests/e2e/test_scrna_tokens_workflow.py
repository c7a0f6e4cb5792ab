"""The token rules end to end (rules/scrna_tokens.smk): a card asking for Geneformer V1, scGPT and the
plain rank on the real 10x chr21 matrix with the real V1 dictionaries and the real scGPT vocabulary
(paths relative to the card), and a card deriving Geneformer's dictionaries from the dataset.

Every cell's tokens in the Parquet tables are compared with the plain-Python reference of the
tests (one cell at a time, from the raw matrix and the cells that passed QC); the cells QC
dropped are counted, the completed card carries the dictionary hashes, and two runs give the
same bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import scanpy as sc
import yaml
from scipy import sparse

from tests.conftest import artifact_bytes, run_workflow, shared_data, write_card
from tests.scrna_tokens_support import read_chr21, v1_pickle
from tests.unit.test_scrna_tokens_reference import csr_rows, ensembl_ids, geneformer_scored, rank_cell, scgpt_cell

pytestmark = pytest.mark.e2e

MIN_GENES = 5
SCGPT_MAX_LEN = 16  # <cls> + 15 genes: many cells (~20 genes on average here) are truncated


def _card(folder: Path) -> dict:
    data = shared_data("scrna", "pbmc_10x_v3_chr21_filtered_feature_bc_matrix")
    dictionaries = shared_data("geneformer_v1")
    rel = os.path.relpath(dictionaries, folder)
    vocab = os.path.relpath(shared_data("scgpt", "default_census_vocab.json"), folder)
    return {
        "dataset_id": "chr21_tokens",
        "name": "10x v3 PBMC chr21, tokens",
        "modality": "scrna",
        "input": {"path": str(data), "format": "10x_mtx"},
        "organism": "Homo sapiens",
        "params": {
            "min_genes": MIN_GENES,
            "max_genes": None,
            "max_pct_mito": None,
            "n_top_genes": 100,
            "tokenizers": ["geneformer", "scgpt", "rank"],
            "geneformer": {
                "token_dictionary": f"{rel}/token_dictionary.pkl",
                "gene_median_dictionary": f"{rel}/gene_median_dictionary.pkl",
            },
            "rank": {"n_genes": 60},
            "scgpt": {"vocab": vocab, "genes": "all", "select": "highest", "max_len": SCGPT_MAX_LEN},
        },
    }


def _derived_card(folder: Path) -> dict:
    """Geneformer without Geneformer's files: gene medians and token ids derived from the dataset."""
    card = _card(folder)
    card["params"] = {**card["params"], "tokenizers": ["geneformer"], "geneformer": {}}
    del card["params"]["rank"], card["params"]["scgpt"]
    return {**card, "dataset_id": "chr21_derived"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> tuple[Path, Path]:
    cards = tmp_path_factory.mktemp("cards")
    write_card(cards, _card(cards))
    write_card(cards, _derived_card(cards))
    first, second = tmp_path_factory.mktemp("run1"), tmp_path_factory.mktemp("run2")
    run_workflow(cards, first)
    run_workflow(cards, second)
    return first / "chr21_tokens", second / "chr21_tokens"


def _table(path: Path) -> pd.DataFrame:
    return pq.read_table(path).to_pandas()


def test_tokens_equal_the_reference_and_the_card_has_the_dictionaries(runs) -> None:
    folder, _ = runs
    adata, _, rows = read_chr21()
    cells = pd.read_csv(folder / "qc_cells.tsv", sep="\t", dtype=str, keep_default_na=False)
    assert cells["cell_id"].tolist() == list(adata.obs_names)
    passed = [len([v for _, v in row if v]) >= MIN_GENES for row in rows]  # the only active QC filter
    assert (cells["removed_by"] == "").tolist() == passed
    assert not all(passed)  # some cells fail QC: their absence is checked below
    kept_rows = [row for row, ok in zip(rows, passed) if ok]
    kept_ids = [c for c, ok in zip(adata.obs_names, passed) if ok]

    tokens, medians = v1_pickle("token_dictionary.pkl"), v1_pickle("gene_median_dictionary.pkl")
    column_ids = ensembl_ids(list(adata.var_names), None)
    expected = {}
    for cell, row in zip(kept_ids, kept_rows):
        scored = geneformer_scored(row, column_ids, tokens, medians)
        if scored:
            expected[cell] = [t for _, t in scored[:2048]]
    geneformer = _table(folder / "geneformer.parquet")
    assert geneformer["cell_id"].tolist() == list(expected)
    assert [list(ids) for ids in geneformer["input_ids"]] == list(expected.values())
    assert geneformer["length"].tolist() == [len(v) for v in expected.values()]

    rank = _table(folder / "rank.parquet")
    expected_rank = {cell: rank_cell(row, 60) for cell, row in zip(kept_ids, kept_rows)}
    expected_rank = {cell: ids for cell, ids in expected_rank.items() if ids is not None}
    assert rank["cell_id"].tolist() == list(expected_rank)
    assert [list(ids) for ids in rank["input_ids"]] == list(expected_rank.values())
    assert any(len(v) == 60 for v in expected_rank.values())  # truncation is exercised

    section = json.loads((folder / "tokens.json").read_text(encoding="utf-8"))
    n_failed = len(passed) - sum(passed)
    for scheme, table in (("geneformer", geneformer), ("rank", rank)):
        assert section[scheme]["cells_in_input"] == len(rows)
        assert section[scheme]["cells_failed_qc"] == n_failed
        assert section[scheme]["cells_tokenised"] == len(table)
        assert section[scheme]["cells_dropped_empty"] == sum(passed) - len(table)
    assert section["rank"]["spearman_cells"] > 0

    card = yaml.safe_load((folder / "card.yaml").read_text(encoding="utf-8"))
    computed = card["computed"]
    for name in ("geneformer.parquet", "rank.parquet", "tokens.json"):
        assert computed["artifacts_sha256"][name] == hashlib.sha256((folder / name).read_bytes()).hexdigest()
    facts = computed["tokens"]["geneformer"]
    assert facts["version"] == "v1"
    for field, name in (
        ("token_dictionary", "token_dictionary.pkl"),
        ("gene_median_dictionary", "gene_median_dictionary.pkl"),
    ):
        data = shared_data("geneformer_v1", name).read_bytes()
        assert facts["dictionaries"][field]["sha256"] == hashlib.sha256(data).hexdigest()
        assert facts["dictionaries"][field]["size_bytes"] == len(data)
        assert facts["dictionaries"][field]["path"] == card["params"]["geneformer"][field]
    assert computed["tokens"]["rank"]["n_genes"] == 60


def test_scgpt_tokens_equal_the_reference(runs) -> None:
    folder, _ = runs
    adata, counts, _ = read_chr21()
    cells = pd.read_csv(folder / "qc_cells.tsv", sep="\t", dtype=str, keep_default_na=False)
    passed = (cells["removed_by"] == "").to_numpy()
    processed = ad.read_h5ad(folder / "processed.h5ad")
    # scGPT's input is the chain's normalize_total + log1p of the kept cells over the genes that passed
    # its gene filter: checked here against scanpy, then binned by the reference from those values
    columns = pd.Index(adata.var_names).get_indexer(processed.var["gene_ids"])
    assert (columns >= 0).all() and processed.obs_names.tolist() == cells.loc[passed, "cell_id"].tolist()
    expected_values = ad.AnnData(counts[passed][:, columns].copy())
    sc.pp.normalize_total(expected_values, target_sum=1e4)
    sc.pp.log1p(expected_values)
    values = sparse.csr_matrix(processed.X, dtype=np.float64)
    np.testing.assert_allclose(values.toarray(), expected_values.X.toarray(), rtol=2e-6, atol=1e-6)

    vocab = json.loads(shared_data("scgpt", "default_census_vocab.json").read_text(encoding="utf-8"))
    for special in ("<pad>", "<cls>", "<eoc>"):  # appended after the largest id when missing, as GeneVocab
        vocab.setdefault(special, max(vocab.values()) + 1)
    column_vocab = [vocab.get(symbol) for symbol in processed.var["gene_symbols"]]
    expected = {}
    for cell, row in zip(processed.obs_names, csr_rows(values)):
        tokens = scgpt_cell(row, column_vocab, 51, SCGPT_MAX_LEN, vocab["<cls>"])
        if tokens is not None:
            expected[cell] = tokens
    table = _table(folder / "scgpt.parquet")
    assert table["cell_id"].tolist() == list(expected)
    assert [(list(g), list(v)) for g, v in zip(table["genes"], table["values"])] == list(expected.values())
    assert table["length"].tolist() == [len(g) for g, _ in expected.values()]

    section = json.loads((folder / "tokens.json").read_text(encoding="utf-8"))["scgpt"]
    assert section["cells_tokenised"] == len(expected)
    assert section["cells_failed_qc"] == int((~passed).sum())
    in_vocabulary_genes = [sum(column_vocab[c] is not None and v != 0 for c, v in row) for row in csr_rows(values)]
    assert section["cells_truncated"] == sum(n > SCGPT_MAX_LEN - 1 for n in in_vocabulary_genes) > 0
    assert section["genes_in_vocabulary"] == sum(v is not None for v in column_vocab)
    normalised = np.expm1(values.toarray())  # the chain's normalised counts of the kept cells
    in_vocabulary = np.array([v is not None for v in column_vocab])
    share = normalised[:, in_vocabulary].sum() / normalised.sum()
    assert section["share_of_counts_in_vocabulary"] == pytest.approx(share, rel=1e-9)
    assert 0.5 < share < 1
    card = yaml.safe_load((folder / "card.yaml").read_text(encoding="utf-8"))
    facts = card["computed"]["tokens"]["scgpt"]
    data = shared_data("scgpt", "default_census_vocab.json").read_bytes()
    assert facts["vocabulary"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert facts["vocabulary"]["path"] == card["params"]["scgpt"]["vocab"]
    assert facts["max_len"] == SCGPT_MAX_LEN and facts["cells_tokenised"] == len(expected)


def test_derived_gene_medians_give_the_reference_tokens(runs) -> None:
    folder = runs[0].parent / "chr21_derived"
    adata, _, rows = read_chr21()
    kept = [(cell, row) for cell, row in zip(adata.obs_names, rows) if len([v for _, v in row if v]) >= MIN_GENES]
    column_ids = ensembl_ids(list(adata.var_names), None)
    normalised: dict[str, list[float]] = {}
    for _, row in kept:
        n_counts = sum(v for _, v in row)
        for column, value in row:
            if value:
                normalised.setdefault(column_ids[column], []).append(value / n_counts * 10000)
    medians = {gene: float(np.median(values)) for gene, values in normalised.items()}
    tokens = {"<pad>": 0, "<mask>": 1, **{gene: 2 + i for i, gene in enumerate(sorted(medians))}}
    expected = {}
    for cell, row in kept:
        scored = geneformer_scored(row, column_ids, tokens, medians)
        if scored:
            expected[cell] = [t for _, t in scored[:2048]]
    table = _table(folder / "geneformer.parquet")
    assert table["cell_id"].tolist() == list(expected)
    assert [list(ids) for ids in table["input_ids"]] == list(expected.values())
    facts = yaml.safe_load((folder / "card.yaml").read_text(encoding="utf-8"))["computed"]["tokens"]["geneformer"]
    for field, size in (("token_dictionary", len(tokens)), ("gene_median_dictionary", len(medians))):
        assert facts["dictionaries"][field]["derived_from_dataset"] is True
        assert facts["dictionaries"][field]["entries"] == size
        assert "path" not in facts["dictionaries"][field]


def test_two_runs_give_identical_bytes(runs) -> None:
    for first, second in (runs, (runs[0].parent / "chr21_derived", runs[1].parent / "chr21_derived")):
        a, b = artifact_bytes(first), artifact_bytes(second)
        assert "geneformer.parquet" in a
        assert a == b
