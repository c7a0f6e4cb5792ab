"""The token rules' inputs: raw counts streamed from a CSR h5ad equal the chain's reader, and the
rules' params (TokenOptions) are the slice of the card the token steps use."""

from __future__ import annotations

from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import sparse

from genoprep.cards import load_card
from genoprep.errors import InputError
from genoprep.scrna import annotate, io
from genoprep.scrna.tokens.source import read_raw
from genoprep.scrna.tokens.workflow import TokenOptions, dictionary_files
from tests.conftest import shared_data


def _options(fmt="h5ad", layer=None, columns=None) -> TokenOptions:
    return TokenOptions(
        dataset_id="d",
        format=fmt,
        orientation=None,
        layer=layer,
        columns=columns or {},
        scheme="rank",
        settings={"n_genes": 10},
        with_spearman=False,
    )


def _qc_cells(path: Path, cell_ids, failed_every: int) -> np.ndarray:
    removed = np.where(np.arange(len(cell_ids)) % failed_every == failed_every - 1, "min_genes", "")
    pd.DataFrame({"cell_id": cell_ids, "removed_by": removed}).to_csv(path, sep="\t", index=False)
    return np.flatnonzero(removed == "")


def _streamed(raw, size: int) -> sparse.csr_matrix:
    firsts, parts = zip(*raw.chunks(size))
    assert list(firsts) == list(range(0, raw.kept.shape[0], size))
    return sparse.vstack(parts, format="csr")


# (file, stored as CSR: streamed; else read whole by the chain's reader)
REAL = [
    ("onek1k_pbmc_7811cells_40donors_4celltypes_rawcounts.h5ad", True),
    ("pbmc68k_reduced_700cells_rawcounts_celltype_labels.h5ad", True),
    ("pbmc5k_citeseq_200cells_rawcounts_mtgenes.h5ad", False),  # dense X
]


@pytest.mark.parametrize("name, streamed", REAL)
def test_streamed_h5ad_rows_equal_the_chain_reader(name: str, streamed: bool, tmp_path: Path) -> None:
    path = shared_data("scrna", name)
    chain = io.read_matrix(path, "h5ad")  # what the chain reads: canonical float32 CSR
    annotate.annotate_genes(chain, {}, str(path))
    kept = _qc_cells(tmp_path / "qc_cells.tsv", chain.obs_names, failed_every=7)
    raw = read_raw(str(path), _options(), str(tmp_path / "qc_cells.tsv"))
    assert raw.streamed == streamed and raw.cells_in_input == chain.n_obs and raw.n_genes == chain.n_vars
    assert raw.kept.tolist() == kept.tolist() and raw.cell_ids.tolist() == chain.obs_names[kept].tolist()
    ids, symbols = chain.var["gene_ids"].to_numpy(), chain.var["gene_symbols"].to_numpy()
    assert raw.geneformer_names == [i or s or n for i, s, n in zip(ids, symbols, chain.var_names)]
    got, expected = _streamed(raw, 333), chain.X[kept]
    assert got.dtype == np.float32 and got.has_canonical_format
    assert (got.indptr == expected.indptr).all() and (got.indices == expected.indices).all()
    assert (got.data == expected.data).all()


def test_dense_h5ad_is_read_whole_with_the_same_rows(tmp_path: Path) -> None:
    counts = np.array([[0, 2, 1], [3, 0, 0], [0, 0, 0], [1, 1, 5]], np.float32)
    genes = pd.DataFrame(index=["ENSG00000000001", "ENSG00000000002", "ENSG00000000003"])
    ad.AnnData(counts, obs=pd.DataFrame(index=[f"c{i}" for i in range(4)]), var=genes).write_h5ad(tmp_path / "d.h5ad")
    kept = _qc_cells(tmp_path / "qc_cells.tsv", [f"c{i}" for i in range(4)], failed_every=4)
    raw = read_raw(str(tmp_path / "d.h5ad"), _options(), str(tmp_path / "qc_cells.tsv"))
    assert not raw.streamed and raw.kept.tolist() == kept.tolist() == [0, 1, 2]
    assert (_streamed(raw, 2).toarray() == counts[kept]).all()


def test_layer_is_streamed_and_a_stale_qc_cells_refused(tmp_path: Path) -> None:
    counts = sparse.csr_matrix(np.array([[0, 2], [3, 0], [4, 4]], np.float32))
    adata = ad.AnnData(
        sparse.csr_matrix(np.ones((3, 2), np.float32)),
        obs=pd.DataFrame(index=["a", "b", "c"]),
        var=pd.DataFrame(index=["G1", "G2"]),
        layers={"counts": counts},
    )
    adata.write_h5ad(tmp_path / "d.h5ad")
    _qc_cells(tmp_path / "qc_cells.tsv", ["a", "b", "c"], failed_every=10**6)
    raw = read_raw(str(tmp_path / "d.h5ad"), _options(layer="counts"), str(tmp_path / "qc_cells.tsv"))
    assert raw.streamed and (_streamed(raw, 2).toarray() == counts.toarray()).all()
    assert raw.geneformer_names == ["G1", "G2"]  # symbols: no Ensembl ids
    _qc_cells(tmp_path / "qc_cells.tsv", ["a", "c", "b"], failed_every=10**6)
    with pytest.raises(InputError, match="stale qc_cells.tsv"):
        read_raw(str(tmp_path / "d.h5ad"), _options(layer="counts"), str(tmp_path / "qc_cells.tsv"))


def test_token_options_are_the_slice_of_the_card_the_token_steps_use(tmp_path: Path) -> None:
    (tmp_path / "dicts").mkdir()
    card = {
        "dataset_id": "tok",
        "name": "tokens",
        "description": "first",
        "modality": "scrna",
        "input": {
            "path": str(shared_data("scrna", "pbmc5k_citeseq_200cells_rawcounts_mtgenes.h5ad")),
            "format": "h5ad",
        },
        "params": {
            "tokenizers": ["geneformer", "rank"],
            "geneformer": {"token_dictionary": "dicts/tokens.pkl"},
            "rank": {"n_genes": 7},
        },
    }
    path = tmp_path / "tok.yaml"
    path.write_text(yaml.safe_dump(card), encoding="utf-8")
    loaded = load_card(path)
    geneformer = TokenOptions.from_card(loaded.data, "geneformer").as_params()
    assert geneformer["settings"]["token_dictionary"] == "dicts/tokens.pkl"  # as in the card
    assert geneformer["with_spearman"] is True
    rank = TokenOptions.from_card(loaded.data, "rank").as_params()
    assert rank["settings"] == {"n_genes": 7} and rank["with_spearman"] is False
    # the rule's named inputs: the card's file resolved against its folder, the medians derived
    files = dictionary_files(loaded, "geneformer", lambda name: f"WORK/{name}")
    assert files == {
        "token_dictionary": str(tmp_path / "dicts" / "tokens.pkl"),
        "gene_median_dictionary": "WORK/tokens/gene_median_dictionary.json",
    }
    assert dictionary_files(loaded, "rank", str) == {}
    # editing the description, name or another scheme's settings does not change a job's params
    card.update(description="second", name="renamed")
    card["params"]["scgpt"] = {"n_bins": 11}
    path.write_text(yaml.safe_dump(card), encoding="utf-8")
    edited = load_card(path)
    assert TokenOptions.from_card(edited.data, "geneformer").as_params() == geneformer
    assert TokenOptions.from_card(edited.data, "rank").as_params() == rank
    assert TokenOptions.from_params(rank) == TokenOptions.from_card(edited.data, "rank")
