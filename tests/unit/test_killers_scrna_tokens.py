"""Killers for the mutants of genoprep/scrna/tokens/: Geneformer, scGPT and rank tokens, summaries and parameters
(issue 16; docs/testing.md).

The `scrna_tokens` mutation group runs this file (bench/mutants.py GROUPS). Every expected value is
hand-computed or re-implemented here in plain numpy (never genoprep's own output).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from genoprep.errors import InputError


def _scgpt_tokenizer(select: str = "highest"):  # type: ignore[no-untyped-def]
    from genoprep.scrna.tokens import ScgptOptions, ScgptTokenizer, ScgptVocabulary

    vocabulary = ScgptVocabulary.from_mapping({s: i for i, s in enumerate("ABCDE")}, "vocab.json")
    options = ScgptOptions(vocab="vocab.json", n_bins=5, max_len=10, genes="hvg", select=select, seed=4)
    return ScgptTokenizer(vocabulary, ["A", "Z", "C", "D"], options, np.array([True, True, False, True]))


GENEFORMER_GENES = ["ENSG00000000003", "ENSG00000000005"]


def _geneformer_v2(size: int):
    """Card options (v2, special tokens, the given model_input_size) and a two-gene vocabulary (medians 1.5, 2)."""
    from genoprep.scrna.tokens import GeneformerOptions, GeneformerVocabulary

    options = GeneformerOptions(
        version="v2",
        model_input_size=size,
        special_tokens=None,
        token_dictionary=None,
        gene_median_dictionary=None,
        gene_name_id_dictionary=None,
    )
    genes = GENEFORMER_GENES
    tokens = {"<pad>": 0, "<mask>": 1, "<cls>": 2, "<eos>": 3, genes[0]: 4, genes[1]: 5}
    return options, GeneformerVocabulary.load(options, tokens=tokens, medians={genes[0]: 1.5, genes[1]: 2.0})


def _geneformer_options(version: str = "v2", **fields) -> object:
    from genoprep.scrna.tokens import GeneformerOptions

    base = dict(model_input_size=None, special_tokens=None, token_dictionary=None, gene_median_dictionary=None)
    return GeneformerOptions(version=version, **{**base, "gene_name_id_dictionary": None, **fields})


def _refusal(call) -> str:
    with pytest.raises(InputError) as caught:
        call()
    return str(caught.value)


def test_rank_tokens_summary_and_parameters_by_hand() -> None:
    from genoprep.scrna.tokens import RankOptions, RankTokenizer

    # cell 0: counts 3 (gene 1), 3 (gene 3), 1 (gene 2) -> 1, 3, 2 (tie by index); cell 1 empty: dropped;
    # cell 2: 5 (0), 4 (4), 2 (2), 1 (1) -> 0, 4, 2, truncated at 3 genes without a tie at the boundary
    counts = sparse.csr_matrix(np.array([[0, 3, 1, 3, 0], [0, 0, 0, 0, 0], [5, 1, 2, 0, 4]], dtype=np.float32))
    tokenizer = RankTokenizer(5, RankOptions(n_genes=3))
    chunk = tokenizer.tokenize_chunk(counts)
    assert chunk.kept.tolist() == [True, False, True] and chunk.offsets.tolist() == [0, 3, 6]
    assert chunk.input_ids.tolist() == [1, 3, 2, 0, 4, 2]
    assert tokenizer.summary() == {
        "n_genes": 3,
        "cells_tokenised": 2,
        "cells_dropped_empty": 1,
        "cells_truncated": 1,
        "ties_at_truncation": 0,
        "tokens": 6,
        "mean_spearman_vs_geneformer": None,
        "spearman_cells": 0,
    }
    assert tokenizer.parameters() == {
        "scheme": "rank",
        "n_genes": 3,
        "ids": "indices into features",
        "order": "raw count descending, ties by gene index ascending",
    }
    with pytest.raises(InputError) as caught:
        tokenizer.tokenize_chunk(sparse.csr_matrix((1, 4), dtype=np.float32))
    assert str(caught.value) == "counts: chunk has 4 genes, the dataset 5"


def test_normalise_ensembl_id_and_spec_text() -> None:
    from genoprep.scrna.tokens.geneformer import VERSIONS, _spec_text, normalise_ensembl_id

    assert normalise_ensembl_id(" ensg00000141510.16 ") == "ENSG00000141510"
    assert normalise_ensembl_id("ENSG1.2.3") == "ENSG1"
    assert _spec_text(VERSIONS["v2"]) == "<pad>=0, <mask>=1, <cls>=2, <eos>=3"
    assert _spec_text(VERSIONS["v1"]) == "<pad>=0, <mask>=1"


def test_scgpt_summary_and_parameters_by_hand() -> None:
    tokenizer = _scgpt_tokenizer()
    # A and D are in the HVG set and the vocabulary (Z is not in the vocabulary, C not an HVG): <cls>, A, D
    chunk = tokenizer.tokenize_chunk(sparse.csr_matrix(np.array([[1.0, 9.0, 9.0, 3.0], [0, 0, 0, 0]])))
    assert chunk.input_ids.tolist() == [6, 0, 3]
    share = (np.expm1(1.0) + np.expm1(3.0)) / (np.expm1(1.0) + 2 * np.expm1(9.0) + np.expm1(3.0))
    summary = tokenizer.summary()
    assert summary.pop("share_of_counts_in_vocabulary") == pytest.approx(share, rel=1e-12)
    assert summary == {
        "n_bins": 5,
        "max_len": 10,
        "genes": "hvg",
        "select": "highest",
        "genes_in_input": 4,
        "genes_in_set": 3,
        "genes_in_vocabulary": 2,
        "cells_tokenised": 1,
        "cells_dropped_empty": 1,
        "cells_truncated": 0,
        "ties_at_truncation": 0,
        "tokens": 3,
        "vocabulary": {"special_tokens_appended": ["<pad>", "<cls>", "<eoc>"]},
    }
    assert tokenizer.parameters() == {
        "scheme": "scgpt",
        "n_bins": 5,
        "max_len": 10,
        "genes": "hvg",
        "select": "highest",
        "seed": 4,
        "cls_id": 6,
        "pad_id": 5,
        "values": "normalize_total + log1p, float64",
        "binning": "np.digitize(value, np.quantile(nonzero, np.linspace(0, 1, n_bins - 1))), left side",
        "order": "<cls> then genes in column order",
        "vocab_sha256": None,
    }
    sampled = _scgpt_tokenizer("sample")
    assert sampled.summary()["ties_at_truncation"] is None  # a sample has no truncation boundary
    assert "ties_at_truncation" in tokenizer.summary()


def test_scgpt_vocabulary_load(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import hashlib
    import json

    from genoprep.scrna.tokens import ScgptVocabulary

    path = tmp_path / "vocab.json"
    path.write_text(json.dumps({"A": 0, "B": 1, "<pad>": 2}), encoding="utf-8")
    vocabulary = ScgptVocabulary.load(str(path))
    assert vocabulary.ids == {"A": 0, "B": 1, "<pad>": 2, "<cls>": 3, "<eoc>": 4}
    assert vocabulary.appended == ["<cls>", "<eoc>"]
    assert vocabulary.facts["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert vocabulary.facts["special_tokens_appended"] == ["<cls>", "<eoc>"]
    from genoprep.scrna.tokens import ScgptOptions, ScgptTokenizer

    options = ScgptOptions(vocab=str(path), n_bins=3, max_len=2, genes="all", select="highest", seed=0)
    parameters = ScgptTokenizer(vocabulary, ["A", "B"], options).parameters()
    assert parameters["vocab_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(InputError) as caught:
        ScgptVocabulary.load(None)
    assert str(caught.value) == ("card: params.scgpt.vocab is not set: the scgpt tokens need scGPT's vocabulary JSON")


def test_rank_summary_with_geneformer_spearman() -> None:
    from genoprep.scrna.tokens import RankOptions, RankTokenizer
    from genoprep.scrna.tokens.chunks import TokenStats

    stats = TokenStats()
    stats.add_spearman(np.array([0.5, np.nan, 1.0]))  # a cell without a defined correlation is left out
    summary = RankTokenizer(3, RankOptions(n_genes=2)).summary(stats)
    assert summary["mean_spearman_vs_geneformer"] == pytest.approx(0.75) and summary["spearman_cells"] == 2
    assert list(summary)[-2:] == ["mean_spearman_vs_geneformer", "spearman_cells"]
    empty = RankTokenizer(3, RankOptions(n_genes=2)).summary(TokenStats())
    assert empty["mean_spearman_vs_geneformer"] is None and empty["spearman_cells"] == 0


def test_scgpt_refusals_name_their_source_and_duplicates_are_summed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from genoprep.scrna.tokens import ScgptVocabulary

    missing = tmp_path / "none.json"
    with pytest.raises(InputError) as caught:
        ScgptVocabulary.load(str(missing))
    assert str(caught.value) == (
        f"{missing}: scGPT vocabulary not found (dictionaries are read from the paths in the card, never downloaded)"
    )
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        ScgptVocabulary.load(str(listed))
    assert str(caught.value) == f"{listed}: scGPT vocabulary holds a list, not a dictionary"
    twice = tmp_path / "twice.json"
    twice.write_text('{"A": 0, "B": 0}', encoding="utf-8")
    with pytest.raises(InputError) as caught:
        ScgptVocabulary.load(str(twice))
    assert str(caught.value) == f"{twice}: scGPT vocabulary gives the same id to two genes"
    tokenizer = _scgpt_tokenizer()
    with pytest.raises(InputError) as caught:
        tokenizer.tokenize_chunk(sparse.csr_matrix(np.array([[-1.0, 0, 0, 1.0]])))
    assert str(caught.value) == (
        "normalised values: the matrix holds negative values; tokens need counts or normalised values >= 0"
    )
    with pytest.raises(InputError) as caught:
        tokenizer.tokenize_chunk(sparse.csr_matrix((1, 3)))
    assert str(caught.value) == "values: chunk has 3 genes, the dataset 4"
    # gene A stored twice (0.5 + 0.5) and out of column order: the same tokens and bins as one value 1.0
    duplicated = sparse.csr_matrix((np.array([3.0, 0.5, 0.5]), np.array([3, 0, 0]), np.array([0, 3])), shape=(1, 4))
    plain = _scgpt_tokenizer().tokenize_chunk(sparse.csr_matrix(np.array([[1.0, 0, 0, 3.0]])))
    summed = _scgpt_tokenizer().tokenize_chunk(duplicated)
    assert summed.input_ids.tolist() == plain.input_ids.tolist() == [6, 0, 3]
    assert summed.values.tolist() == plain.values.tolist()
    assert duplicated.data.tolist() == [3.0, 0.5, 0.5]  # the input is not changed


def test_geneformer_parameters_by_hand() -> None:
    from genoprep.scrna.tokens import GeneformerTokenizer

    genes = GENEFORMER_GENES
    options, vocabulary = _geneformer_v2(6)
    assert GeneformerTokenizer(vocabulary, genes, options).parameters() == {
        "scheme": "geneformer",
        "version": "v2",
        "model_input_size": 6,
        "special_tokens": True,
        "genes_per_cell": 4,  # 6 minus <cls> and <eos>
        "target_sum": 10_000,
        "tie_break": "token id ascending",
        "n_counts": "total over all genes of the input matrix",
        "dictionaries": {
            "token_dictionary": "derived from the dataset",
            "gene_median_dictionary": "derived from the dataset",
        },
    }


def test_geneformer_parameters_name_dictionary_files_by_their_sha256(tmp_path) -> None:
    """Dictionaries read from files are named by the sha256 of their bytes (hashlib over the file)."""
    import hashlib
    import json

    from genoprep.scrna.tokens import GeneformerOptions, GeneformerTokenizer, GeneformerVocabulary

    genes = ["ENSG00000000003", "ENSG00000000005"]
    files = {
        "token_dictionary": {"<pad>": 0, "<mask>": 1, genes[0]: 2, genes[1]: 3},
        "gene_median_dictionary": {genes[0]: 1.5, genes[1]: 2.0},
        "gene_name_id_dictionary": {"TSPAN6": genes[0]},
    }
    paths = {}
    for name, content in files.items():
        paths[name] = tmp_path / f"{name}.json"
        paths[name].write_text(json.dumps(content), encoding="utf-8")
    options = GeneformerOptions(
        version="v1", model_input_size=4, special_tokens=None, **{k: str(v) for k, v in paths.items()}
    )
    vocabulary = GeneformerVocabulary.load(options)
    dictionaries = GeneformerTokenizer(vocabulary, genes, options).parameters()["dictionaries"]
    assert dictionaries == {name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in paths.items()}


def test_gene_median_accumulator_by_hand() -> None:
    """Non-zero medians of count / cell total * 10,000 over two chunks, by hand: symbols mapped through
    gene_name_id (a versioned lower-case id, two symbols of one id summed), a gene never detected (left
    out), a last column without an id (still counted in the cell's total)."""
    from genoprep.scrna.tokens.geneformer import GeneMedianAccumulator

    names = ["TSPAN6", "TNMD", "SPIKE1", "TSPAN6B", "DPM1", "SCYL3", "TAIL"]
    ids = ["ensg00000000003.4", "ENSG00000000005", "ENSG00000000007", "ENSG00000000003", "ENSG00000000010"]
    accumulator = GeneMedianAccumulator(names, dict(zip(names, [*ids, "ENSG00000000020"])))
    genes = ["ENSG00000000003", "ENSG00000000005", "ENSG00000000007", "ENSG00000000010", "ENSG00000000020"]
    assert accumulator.genes == genes
    accumulator.add(sparse.csr_matrix(np.array([[1, 2, 0, 1, 0, 0, 4], [0, 0, 3, 0, 1, 0, 1]], dtype=np.float32)))
    accumulator.add(np.array([[3, 1, 1, 0, 0, 0, 5], [0, 0, 0, 0, 0, 0, 2]], dtype=np.int32))
    # cell totals 8, 5, 10, 2. ENSG3: 2/8, 3/10 -> 2500, 3000; ENSG5: 2/8, 1/10 -> 2500, 1000;
    # ENSG7 (SPIKE1): 3/5, 1/10 -> 6000, 1000; ENSG10: 1/5 -> 2000; ENSG20: never detected
    medians = accumulator.medians()
    assert list(medians) == ["ENSG00000000003", "ENSG00000000005", "ENSG00000000007", "ENSG00000000010"]
    assert medians == pytest.approx(
        {"ENSG00000000003": 2750.0, "ENSG00000000005": 1750.0, "ENSG00000000007": 3500.0, "ENSG00000000010": 2000.0},
        rel=1e-12,
    )


@pytest.mark.parametrize(
    ("changes", "hvg", "line"),
    [
        ({"n_bins": 2}, [True] * 4, "card: params.scgpt.n_bins is 2; at least 3 are needed"),
        ({"max_len": 1}, [True] * 4, "card: params.scgpt.max_len is 1; <cls> and one gene need 2"),
        ({}, None, "card: params.scgpt.genes is hvg but no highly-variable genes were given"),
        ({}, [True] * 3, "card: 3 HVG flags for 4 genes"),
        (
            {},
            [False, True, True, False],
            "genes: none of the 2 genes of the set is in the scGPT vocabulary (matched by symbol), e.g. A, Z, C",
        ),
    ],
)
def test_scgpt_tokenizer_refusals_whole_line(changes: dict, hvg: list | None, line: str) -> None:
    import dataclasses

    from genoprep.scrna.tokens import ScgptOptions, ScgptTokenizer, ScgptVocabulary

    vocabulary = ScgptVocabulary.from_mapping({s: i for i, s in enumerate("ABDE")}, "vocab.json")
    options = ScgptOptions(vocab="vocab.json", n_bins=5, max_len=10, genes="hvg", select="highest", seed=4)
    flags = None if hvg is None else np.array(hvg)
    with pytest.raises(InputError) as caught:
        ScgptTokenizer(vocabulary, ["A", "Z", "C", "D"], dataclasses.replace(options, **changes), flags)
    assert str(caught.value) == line


def test_scgpt_tokenizer_two_symbols_of_one_id_are_refused() -> None:
    from genoprep.scrna.tokens import ScgptOptions, ScgptTokenizer, ScgptVocabulary

    vocabulary = ScgptVocabulary.from_mapping({"A": 0, "C": 1}, "vocab.json")
    options = ScgptOptions(vocab="vocab.json", n_bins=5, max_len=10, genes="all", select="highest", seed=4)
    with pytest.raises(InputError) as caught:
        ScgptTokenizer(vocabulary, ["A", "C", "A"], options)  # one symbol in two columns
    assert str(caught.value) == "genes: two genes of the dataset map to the same scGPT vocabulary id"


def test_scgpt_counts_share_over_two_float32_chunks() -> None:
    """The share of counts in the vocabulary sums expm1 of the float32 values in float64 over every chunk."""
    tokenizer = _scgpt_tokenizer()
    tokenizer.tokenize_chunk(sparse.csr_matrix(np.array([[1, 9, 9, 3]], dtype=np.float32)))
    tokenizer.tokenize_chunk(sparse.csr_matrix(np.array([[2, 0, 5, 0]], dtype=np.float32)))
    # A (column 1) and D (column 4) are HVGs in the vocabulary; Z and C count only in the total
    in_vocabulary = np.expm1(1.0) + np.expm1(3.0) + np.expm1(2.0)
    total = in_vocabulary + 2 * np.expm1(9.0) + np.expm1(5.0)
    assert tokenizer.summary()["share_of_counts_in_vocabulary"] == pytest.approx(in_vocabulary / total, rel=1e-12)


def test_scgpt_dataset_gene_named_like_a_special_token_is_not_mapped() -> None:
    from genoprep.scrna.tokens import ScgptOptions, ScgptTokenizer, ScgptVocabulary

    vocabulary = ScgptVocabulary.from_mapping({"A": 0, "D": 1}, "vocab.json")  # <pad>, <cls>, <eoc> appended
    options = ScgptOptions(vocab="vocab.json", n_bins=5, max_len=10, genes="all", select="highest", seed=4)
    tokenizer = ScgptTokenizer(vocabulary, ["A", "<cls>", "D"], options)
    assert tokenizer.genes == {"genes_in_input": 3, "genes_in_set": 3, "genes_in_vocabulary": 2}


def test_scgpt_vocabulary_with_a_negative_id_whole_line() -> None:
    from genoprep.scrna.tokens import ScgptVocabulary

    with pytest.raises(InputError) as caught:
        ScgptVocabulary.from_mapping({"A": 0, "B": -1}, "vocab.json")
    assert (
        str(caught.value) == "vocab.json: scGPT vocabulary: the value of 'B' is -1, expected a non-negative integer id"
    )


def test_geneformer_summary_header_and_chunk_refusal() -> None:
    from genoprep.scrna.tokens import GeneformerTokenizer

    genes = GENEFORMER_GENES
    options, vocabulary = _geneformer_v2(6)
    tokenizer = GeneformerTokenizer(vocabulary, genes, options)
    summary = tokenizer.summary()
    assert (summary["version"], summary["model_input_size"], summary["special_tokens"]) == ("v2", 6, True)
    assert summary["dictionaries"] == {
        "token_dictionary": {"derived_from_dataset": True, "entries": 6, "fits_version": "v2"},
        "gene_median_dictionary": {"derived_from_dataset": True, "entries": 2},
    }
    with pytest.raises(InputError) as caught:
        tokenizer.tokenize_chunk(sparse.csr_matrix(np.ones((1, 3), dtype=np.float32)))
    assert str(caught.value) == "counts: chunk has 3 genes, the dataset 2"


def test_geneformer_share_over_two_chunks_and_the_input_size_refusal() -> None:
    from genoprep.scrna.tokens import GeneformerTokenizer

    genes = [*GENEFORMER_GENES, "ENSG00000000099"]  # the last one is in no dictionary
    options, vocabulary = _geneformer_v2(6)
    tokenizer = GeneformerTokenizer(vocabulary, genes, options)
    tokenizer.tokenize_chunk(sparse.csr_matrix(np.array([[1, 2, 3]], dtype=np.float32)))
    tokenizer.tokenize_chunk(sparse.csr_matrix(np.array([[4, 0, 5]], dtype=np.float32)))
    # raw counts of genes in the dictionaries over all counts, both chunks: (1 + 2 + 4) / (6 + 9)
    assert tokenizer.summary()["share_of_counts_in_vocabulary"] == pytest.approx(7 / 15, rel=1e-12)
    with pytest.raises(InputError) as caught:
        GeneformerTokenizer(vocabulary, genes, _geneformer_v2(2)[0])  # <cls> and <eos> take both places
    assert str(caught.value) == "card: params.geneformer.model_input_size 2 leaves no room for genes"


def test_geneformer_spearman_against_scipy_and_no_specials_by_hand() -> None:
    """with_spearman: the mean per-cell Spearman rho between a cell's raw counts and its Geneformer values over all
    its in-vocabulary genes (not only the kept ones), against scipy; cells with a constant side or no gene left out.
    v1 has no <cls>/<eos>: each cell's tokens are its top genes only. Without with_spearman nothing is scored."""
    from scipy import stats

    from genoprep.scrna.tokens import (
        GeneformerOptions,
        GeneformerTokenizer,
        GeneformerVocabulary,
        RankOptions,
        RankTokenizer,
    )

    options = GeneformerOptions(
        version="v1",
        model_input_size=3,
        special_tokens=None,
        token_dictionary=None,
        gene_median_dictionary=None,
        gene_name_id_dictionary=None,
    )
    genes = [f"ENSG0000000000{i}" for i in range(4)] + ["ENSG00000000099"]  # the last one in no dictionary
    medians = np.array([1.0, 4.0, 0.5, 2.0])
    tokens = {"<pad>": 0, "<mask>": 1, **{gene: 2 + i for i, gene in enumerate(genes[:4])}}
    vocabulary = GeneformerVocabulary.load(options, tokens=tokens, medians=dict(zip(genes[:4], medians, strict=True)))
    counts = np.array(
        [
            [1, 2, 3, 4, 7],  # values 1, 0.5, 6, 2 (x 10,000 / 17): rho 0.6 over 4 genes, 3 kept
            [2, 2, 0, 0, 1],  # constant counts: rho undefined
            [0, 0, 0, 0, 3],  # no gene in the vocabulary: dropped
            [0, 1, 0, 5, 0],  # values 0.25, 2.5: rho 1
        ],
        dtype=np.float32,
    )
    expected = []
    for row in counts:
        detected = row[:4] > 0
        if detected.sum() >= 2 and np.unique(row[:4][detected]).shape[0] > 1:
            values = row[:4][detected] / row.sum() * 10_000 / medians[detected]
            expected.append(stats.spearmanr(row[:4][detected], values).statistic)
    assert expected == pytest.approx([0.6, 1.0])
    scored = GeneformerTokenizer(vocabulary, genes, options, with_spearman=True)
    chunk = scored.tokenize_chunk(sparse.csr_matrix(counts))
    # by value descending, no <cls>/<eos>; the cell without a vocabulary gene dropped
    assert (chunk.input_ids.tolist(), chunk.offsets.tolist()) == ([4, 5, 2, 2, 3, 5, 3], [0, 3, 5, 7])
    assert chunk.kept.tolist() == [True, True, False, True]
    summary = RankTokenizer(5, RankOptions(n_genes=3)).summary(scored.stats)
    assert summary["mean_spearman_vs_geneformer"] == pytest.approx(np.mean(expected), rel=1e-12)
    assert summary["spearman_cells"] == 2
    plain = GeneformerTokenizer(vocabulary, genes, options)  # the default: no Spearman
    plain.tokenize_chunk(sparse.csr_matrix(counts))
    assert (plain.stats.spearman_cells, plain.stats.spearman_sum) == (0, 0.0)


def test_geneformer_dictionary_refusals_whole_line(tmp_path) -> None:
    """Each Geneformer dictionary refusal as one whole line naming its file (or the derived dictionary)."""
    import json

    from genoprep.scrna.tokens import GeneformerVocabulary

    gene, other = "ENSG00000000003", "ENSG00000000005"
    medians = {gene: 1.5, other: 2.0}

    def json_file(name: str, content: object) -> str:
        path = tmp_path / name
        path.write_text(json.dumps(content), encoding="utf-8")
        return str(path)

    def load_v1(tokens: object, version: str = "v1", **fields) -> str:
        path = json_file("tokens.json", tokens)
        options = _geneformer_options(version, token_dictionary=path, **fields)
        return _refusal(lambda: GeneformerVocabulary.load(options, medians=medians)).replace(path, "FILE")

    v1 = {"<pad>": 0, "<mask>": 1}
    assert load_v1({**v1, gene: -1}) == (
        "FILE: token dictionary: the value of 'ENSG00000000003' is -1, expected a non-negative integer token id"
    )
    assert load_v1({"<pad>": 0, gene: 2}) == (
        "FILE: token dictionary does not fit Geneformer v1: <mask> is absent, v1 needs <mask>=1 (<pad>=0, <mask>=1)"
    )
    assert load_v1({**v1, "<cls>": 2, "<eos>": 3, gene: 4}) == (
        "FILE: token dictionary does not fit Geneformer v1: it has <cls>/<eos> (a V2 dictionary); "
        "set geneformer.version: v2"
    )
    assert load_v1({**v1, gene: 2}, special_tokens=True) == (
        "FILE: token dictionary has no <cls>/<eos> but geneformer.special_tokens is true (a V1 dictionary)"
    )
    assert load_v1({**v1, gene: 1}) == "FILE: token dictionary gives gene ENSG00000000003 the id of a special token (1)"
    # only <...> names are special: a gene named with one bracket is a gene (and clashes with <mask>'s id)
    assert load_v1({**v1, "GENE>": 1}) == "FILE: token dictionary gives gene GENE> the id of a special token (1)"
    assert load_v1({**v1, gene: 2, other: 2}) == "FILE: token dictionary gives the same id to two genes"
    assert load_v1([1, 2]) == "FILE: token dictionary holds a list, not a dictionary"
    # derived dictionaries are named as such
    assert _refusal(
        lambda: GeneformerVocabulary.load(_geneformer_options("v1"), tokens={**v1, gene: 1}, medians=medians)
    ) == ("derived token dictionary: token dictionary gives gene ENSG00000000003 the id of a special token (1)")
    tokens = {**v1, gene: 2, other: 3}
    assert _refusal(lambda: GeneformerVocabulary.load(_geneformer_options("v1"), tokens=tokens, medians={gene: 0})) == (
        "derived gene median dictionary: gene median dictionary: the value of 'ENSG00000000003' is 0, "
        "expected a positive finite number"
    )
    medians_path = json_file("medians.json", {gene: -2.0})
    options = _geneformer_options("v1", gene_median_dictionary=medians_path)
    assert _refusal(lambda: GeneformerVocabulary.load(options, tokens=tokens)) == (
        f"{medians_path}: gene median dictionary: the value of 'ENSG00000000003' is -2.0, "
        "expected a positive finite number"
    )
    assert _refusal(lambda: GeneformerVocabulary.load(_geneformer_options("v1"), medians=medians)) == (
        "card: params.geneformer.token_dictionary is not set and no derived dictionary was given"
    )
    names_path = json_file("names.json", {"TSPAN6": 5})
    options = _geneformer_options("v1", gene_name_id_dictionary=names_path)
    assert _refusal(lambda: GeneformerVocabulary.load(options, tokens=tokens, medians=medians)) == (
        f"{names_path}: gene name id dictionary: the value of 'TSPAN6' is 5, expected an Ensembl gene id"
    )
    names_path = json_file("names_list.json", ["TSPAN6"])
    options = _geneformer_options("v1", gene_name_id_dictionary=names_path)
    assert _refusal(lambda: GeneformerVocabulary.load(options, tokens=tokens, medians=medians)) == (
        f"{names_path}: gene name id dictionary holds a list, not a dictionary"
    )
    # a file's gene ids are upper-cased (special tokens kept), the version recorded
    path = json_file("lower.json", {**v1, gene.lower(): 2})
    vocabulary = GeneformerVocabulary.load(_geneformer_options("v1", token_dictionary=path), medians=medians)
    assert (vocabulary.tokens, vocabulary.version) == ({**v1, gene: 2}, "v1")


def test_geneformer_gene_ids_summary_and_the_no_gene_refusal() -> None:
    """ensembl_ids_of on a list of Ensembl ids with a symbol and a spike-in (>= 90 % ids: the symbol goes through
    gene_name_id), the tokenizer's gene counts by hand, and the 'none of the genes' refusal with each hint."""
    from genoprep.scrna.tokens import GeneformerTokenizer, GeneformerVocabulary
    from genoprep.scrna.tokens.geneformer import ensembl_ids_of

    ids = [f"ENSG{i:011d}" for i in range(1, 20)]  # 19 ids + 2 others: 90.5 % ids
    names = [f"{ids[0].lower()}.7", *ids[1:], "TSPAN6", "ERCC-00002"]
    mapping = {"TSPAN6": "ensg00000000419.12"}
    assert ensembl_ids_of(names, mapping) == [*ids, "ENSG00000000419", None]
    assert ensembl_ids_of(["TSPAN6", "tspan6", "ACTB"], mapping) == ["ENSG00000000419", None, None]  # exact symbols

    tokens = {"<pad>": 0, "<mask>": 1, ids[0]: 2, ids[1]: 3, "ENSG00000000419": 4}
    medians = {ids[0]: 1.0, ids[1]: 2.0, ids[2]: 3.0, "ENSG00000000419": 4.0}  # ids[2] has no token
    vocabulary = GeneformerVocabulary.load(_geneformer_options("v1"), tokens=tokens, medians=medians)
    vocabulary.gene_name_id = mapping
    tokenizer = GeneformerTokenizer(vocabulary, names, _geneformer_options("v1"))
    summary = tokenizer.summary()
    assert {key: summary[key] for key in ("genes_in_input", "genes_with_ensembl_id")} == {
        "genes_in_input": 21,
        "genes_with_ensembl_id": 20,  # every name but the spike-in
    }
    assert (summary["genes_in_vocabulary"], summary["distinct_tokens"]) == (3, 3)  # ids 0, 1 and TSPAN6's
    # two symbols of one id share a token: 2 genes in the vocabulary, 1 distinct token
    twice = GeneformerTokenizer(vocabulary, ["TSPAN6", "TSPAN6"], _geneformer_options("v1")).summary()
    assert (twice["genes_in_input"], twice["genes_in_vocabulary"], twice["distinct_tokens"]) == (2, 2, 1)

    vocabulary.gene_name_id = None
    symbols = ["A1", "B2", "C3", "D4"]
    assert _refusal(lambda: GeneformerTokenizer(vocabulary, symbols, _geneformer_options("v1"))) == (
        "genes: none of the 4 genes is in both Geneformer dictionaries (the names are not Ensembl ids and no "
        "gene_name_id_dictionary is set), e.g. A1, B2, C3"
    )
    unknown = [f"ENSG{i:011d}" for i in range(50, 54)]
    assert _refusal(lambda: GeneformerTokenizer(vocabulary, unknown, _geneformer_options("v1"))) == (
        "genes: none of the 4 genes is in both Geneformer dictionaries (wrong dictionaries or species?), "
        "e.g. ENSG00000000050, ENSG00000000051, ENSG00000000052"
    )
    vocabulary.gene_name_id = mapping  # symbols that are not in it: not the "no gene_name_id" hint
    assert _refusal(lambda: GeneformerTokenizer(vocabulary, symbols, _geneformer_options("v1"))) == (
        "genes: none of the 4 genes is in both Geneformer dictionaries (wrong dictionaries or species?), "
        "e.g. A1, B2, C3"
    )
