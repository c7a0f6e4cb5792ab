"""scRNA-seq tokens on the real files of issue 11, every cell against the plain-Python reference.

The library is called directly (chunks of cells, as the chain will), on:
- ``pbmc_10x_v3_chr21_filtered_feature_bc_matrix`` (Ensembl ids in features.tsv.gz),
- ``pbmc5k_citeseq_200cells_rawcounts_mtgenes.h5ad`` (symbols, mapped through gene_name_id_dict.pkl),
- ``onek1k_pbmc_7811cells_40donors_4celltypes_rawcounts.h5ad`` (Ensembl ids),
with Geneformer's V1 dictionaries and a V2-shaped dictionary built here from them (special
tokens 0-3, genes from 4; the 104M-cell dictionaries are not available on these machines).
The matrices are read with anndata/scanpy directly, not with genoprep's readers.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import anndata as ad
import numpy as np
import pyarrow.parquet as pq
import pytest
import scanpy as sc
from scipy import sparse, stats

from genoprep.scrna.tokens import (
    GeneformerTokenizer,
    GeneformerVocabulary,
    GeneMedianAccumulator,
    RankOptions,
    RankTokenizer,
    ScgptOptions,
    ScgptTokenizer,
    ScgptVocabulary,
    TokenWriter,
)
from tests.conftest import shared_data
from tests.scrna_tokens_support import geneformer_options, read_chr21, v1_pickle, v2_from_v1
from tests.unit.test_scrna_tokens_reference import csr_rows, ensembl_ids, geneformer_scored, rank_cell, scgpt_cell

CHUNK = 700  # cells per chunk: every dataset is tokenised in several chunks
FILES = {
    "pbmc_10x_chr21": "pbmc_10x_v3_chr21_filtered_feature_bc_matrix",
    "pbmc5k_symbols": "pbmc5k_citeseq_200cells_rawcounts_mtgenes.h5ad",
    "onek1k": "onek1k_pbmc_7811cells_40donors_4celltypes_rawcounts.h5ad",
}


@pytest.fixture(scope="module")
def dictionaries() -> dict[str, dict]:
    return {
        "tokens": v1_pickle("token_dictionary.pkl"),
        "medians": v1_pickle("gene_median_dictionary.pkl"),
        "names": v1_pickle("gene_name_id_dict.pkl"),
    }


@pytest.fixture(scope="module", params=list(FILES))
def dataset(request) -> dict:
    path = shared_data("scrna", FILES[request.param])
    if path.is_dir():
        adata = sc.read_10x_mtx(path, var_names="gene_ids")
        names, symbols = list(adata.var_names), list(adata.var["gene_symbols"])
    else:
        adata = ad.read_h5ad(path)
        names = symbols = list(adata.var_names)
    counts = sparse.csr_matrix(adata.X, dtype=np.float32)
    return {
        "name": request.param,
        "counts": counts,
        "rows": csr_rows(counts),
        "names": names,
        "symbols": symbols,
        "adata": adata,
        "cell_ids": np.asarray(adata.obs_names, dtype=object),
    }


def tokenise(tokenizer, matrix) -> tuple[list, list, np.ndarray]:
    """All cells through ``tokenize_chunk`` in chunks: (token lists, value lists, kept mask)."""
    ids, values, kept = [], [], []
    for start in range(0, matrix.shape[0], CHUNK):
        chunk = tokenizer.tokenize_chunk(matrix[start : start + CHUNK], first_cell=start)
        kept.append(chunk.kept)
        for k in range(len(chunk.offsets) - 1):
            ids.append(chunk.cell(k).tolist())
            if chunk.values is not None:
                values.append(chunk.values[chunk.offsets[k] : chunk.offsets[k + 1]].tolist())
    return ids, values, np.concatenate(kept)


@pytest.mark.parametrize("version, size", [("v1", None), ("v2", None), ("v1", 40), ("v2", 40)])
def test_geneformer_tokens_equal_the_reference(dataset, dictionaries, version, size, tmp_path: Path) -> None:
    tokens = dictionaries["tokens"] if version == "v1" else v2_from_v1(dictionaries["tokens"])
    token_file = shared_data("geneformer_v1", "token_dictionary.pkl")
    if version == "v2":
        token_file = tmp_path / "v2_tokens.pkl"
        token_file.write_bytes(pickle.dumps(tokens))
    options = geneformer_options(
        version,
        size,
        token_dictionary=str(token_file),
        gene_median_dictionary=str(shared_data("geneformer_v1", "gene_median_dictionary.pkl")),
        gene_name_id_dictionary=str(shared_data("geneformer_v1", "gene_name_id_dict.pkl")),
    )
    vocabulary = GeneformerVocabulary.load(options)
    tokenizer = GeneformerTokenizer(vocabulary, dataset["names"], options)
    got, _, kept = tokenise(tokenizer, dataset["counts"])

    column_ids = ensembl_ids(dataset["names"], dictionaries["names"])
    input_size = size or (2048 if version == "v1" else 4096)
    genes = input_size - 2 if version == "v2" else input_size
    scored = [geneformer_scored(row, column_ids, tokens, dictionaries["medians"]) for row in dataset["rows"]]
    frame = ([tokens["<cls>"]], [tokens["<eos>"]]) if version == "v2" else ([], [])
    expected = [frame[0] + [t for _, t in s[:genes]] + frame[1] if s else None for s in scored]
    assert kept.tolist() == [e is not None for e in expected]
    assert got == [e for e in expected if e is not None]
    summary = tokenizer.summary()
    assert summary["cells_tokenised"] == sum(e is not None for e in expected)
    assert summary["dictionaries"]["token_dictionary"]["fits_version"] == version
    if dataset["name"] == "pbmc5k_symbols":
        assert summary["genes_in_vocabulary"] > 10_000  # symbols mapped through gene_name_id_dict
    truncated = [s for s in scored if len(s) > genes]
    assert summary["cells_truncated"] == len(truncated)
    assert summary["ties_at_truncation"] == sum(s[genes - 1][0] == s[genes][0] for s in truncated)
    if size == 40 or (version == "v1" and dataset["name"] == "pbmc5k_symbols"):
        assert truncated  # (some pbmc5k cells have more than 2048 genes in the dictionaries)


def test_rank_and_its_spearman_against_geneformer(dataset, dictionaries) -> None:
    counts = dataset["counts"]
    for n_genes in (2048, 30):
        got, _, kept = tokenise(RankTokenizer(counts.shape[1], RankOptions(n_genes=n_genes)), counts)
        expected = [rank_cell(row, n_genes) for row in dataset["rows"]]
        assert kept.tolist() == [e is not None for e in expected]
        assert got == [e for e in expected if e is not None]

    options = geneformer_options()
    vocabulary = GeneformerVocabulary.load(options, tokens=dictionaries["tokens"], medians=dictionaries["medians"])
    vocabulary.gene_name_id = dictionaries["names"]
    geneformer = GeneformerTokenizer(vocabulary, dataset["names"], options, with_spearman=True)
    n_cells = 1500  # scipy's spearmanr is the slow part: the first 1,500 cells of each file
    tokenise(geneformer, counts[:n_cells])
    column_ids = ensembl_ids(dataset["names"], dictionaries["names"])
    rhos = []
    for row in dataset["rows"][:n_cells]:
        n_counts = sum(v for _, v in row)
        summed: dict[str, float] = {}
        for column, value in row:
            gene = column_ids[column]
            if gene in dictionaries["tokens"] and gene in dictionaries["medians"] and value:
                summed[gene] = summed.get(gene, 0.0) + value
        if len(summed) >= 2:
            genes = sorted(summed)
            rho = stats.spearmanr(
                [summed[g] for g in genes], [summed[g] / n_counts * 1e4 / dictionaries["medians"][g] for g in genes]
            ).statistic
            if not np.isnan(rho):
                rhos.append(rho)
    section = RankTokenizer(counts.shape[1], RankOptions(n_genes=2048)).summary(geneformer.stats)
    assert section["spearman_cells"] == len(rhos)
    assert section["mean_spearman_vs_geneformer"] == pytest.approx(float(np.mean(rhos)), rel=1e-9)


def test_scgpt_tokens_equal_the_reference(dataset, tmp_path: Path) -> None:
    if dataset["name"] == "onek1k":
        pytest.skip("onek1k has Ensembl ids only; the scGPT vocabulary is keyed by symbols")
    adata = ad.AnnData(dataset["counts"].copy())
    sc.pp.normalize_total(adata, target_sum=1e4)
    sc.pp.log1p(adata)
    values = sparse.csr_matrix(adata.X)
    vocab_path = shared_data("scgpt", "default_census_vocab.json")
    vocabulary = ScgptVocabulary.load(str(vocab_path))
    assert vocabulary.appended == ["<pad>", "<cls>", "<eoc>"] and vocabulary.ids["<cls>"] == 60695
    symbols = dataset["symbols"]
    hvg = None
    if "highly_variable" in dataset["adata"].var:
        hvg = dataset["adata"].var["highly_variable"].to_numpy(bool)
    for genes, max_len in (("all", 1200), ("all", 50), ("hvg", 1200)):
        if genes == "hvg" and hvg is None:
            continue
        options = ScgptOptions(vocab=str(vocab_path), n_bins=51, max_len=max_len, genes=genes, select="highest", seed=0)
        tokenizer = ScgptTokenizer(vocabulary, symbols, options, hvg)
        got_ids, got_values, kept = tokenise(tokenizer, values)
        in_set = hvg if genes == "hvg" else np.ones(len(symbols), bool)
        column_vocab = [vocabulary.ids.get(s) if in_set[j] else None for j, s in enumerate(symbols)]
        expected = [scgpt_cell(row, column_vocab, 51, max_len, 60695) for row in csr_rows(values)]
        assert kept.tolist() == [e is not None for e in expected]
        assert list(zip(got_ids, got_values)) == [e for e in expected if e is not None]
        if max_len == 50:
            assert tokenizer.summary()["cells_truncated"] > 0

    # the Parquet table holds the same tokens, and two writes give identical bytes
    options = ScgptOptions(vocab=str(vocab_path), n_bins=51, max_len=1200, genes="all", select="sample", seed=5)
    outputs = []
    for attempt in range(2):
        tokenizer = ScgptTokenizer(vocabulary, symbols, options)
        path = tmp_path / f"scgpt_{attempt}.parquet"
        with TokenWriter(path, "genes", tokenizer.parameters(), with_values=True, labels=["cell_type"]) as writer:
            for start in range(0, values.shape[0], CHUNK):
                chunk = tokenizer.tokenize_chunk(values[start : start + CHUNK], first_cell=start)
                n = chunk.kept.shape[0]
                writer.write(dataset["cell_ids"][start : start + n], chunk, {"cell_type": ["NA"] * n})
        outputs.append(path.read_bytes())
    assert outputs[0] == outputs[1]
    table = pq.read_table(tmp_path / "scgpt_0.parquet")
    ids, bins, _ = tokenise(ScgptTokenizer(vocabulary, symbols, options), values)
    assert table.column("genes").to_pylist() == ids and table.column("values").to_pylist() == bins
    assert table.column("length").to_pylist() == [len(i) for i in ids]


def test_derived_gene_medians_equal_dense_medians() -> None:
    adata = ad.read_h5ad(shared_data("scrna", FILES["onek1k"]))
    counts = sparse.csr_matrix(adata.X, dtype=np.float64)
    accumulator = GeneMedianAccumulator(list(adata.var_names))
    for start in range(0, counts.shape[0], 1000):
        accumulator.add(counts[start : start + 1000])
    medians = accumulator.medians()
    dense = counts.toarray()
    normalised = dense / dense.sum(axis=1, keepdims=True) * 10000
    expected = {}
    for j, gene in enumerate(adata.var_names):
        column = normalised[:, j][dense[:, j] > 0]
        if column.size:
            expected[gene.upper()] = float(np.median(column))
    assert medians.keys() == expected.keys()
    assert all(medians[g] == pytest.approx(expected[g], rel=1e-12) for g in expected)


def test_geneformer_table_loads_with_huggingface_datasets(dictionaries, tmp_path: Path, monkeypatch) -> None:
    datasets = pytest.importorskip("datasets", reason="datasets (Hugging Face) is not installed")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    adata, counts, _ = read_chr21()
    options = geneformer_options()
    vocabulary = GeneformerVocabulary.load(options, tokens=dictionaries["tokens"], medians=dictionaries["medians"])
    tokenizer = GeneformerTokenizer(vocabulary, list(adata.var_names), options)
    path = tmp_path / "geneformer.parquet"
    expected = []
    with TokenWriter(path, "input_ids", tokenizer.parameters(), labels=["cell_type"]) as writer:
        for start in range(0, counts.shape[0], CHUNK):
            chunk = tokenizer.tokenize_chunk(counts[start : start + CHUNK])
            n = chunk.kept.shape[0]
            writer.write(np.asarray(adata.obs_names)[start : start + n], chunk, {"cell_type": ["NA"] * n})
            expected += [chunk.cell(k).tolist() for k in range(len(chunk.offsets) - 1)]
    loaded = datasets.load_dataset("parquet", data_files=str(path), split="train", cache_dir=str(tmp_path / "hf"))
    assert loaded.column_names == ["cell_id", "input_ids", "length", "cell_type"]
    assert loaded.features["input_ids"].feature.dtype == "int32"
    assert loaded["input_ids"] == expected and loaded["length"] == [len(e) for e in expected]
