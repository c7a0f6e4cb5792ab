"""scRNA-seq tokens (issue 11) on hand-computed cases: Geneformer V1/V2, plain rank, scGPT, the writer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy import sparse

from genoprep.errors import InputError
from genoprep.scrna.tokens import (
    GeneformerOptions,
    GeneformerTokenizer,
    GeneformerVocabulary,
    GeneMedianAccumulator,
    RankOptions,
    RankTokenizer,
    ScgptOptions,
    ScgptTokenizer,
    ScgptVocabulary,
    TokenWriter,
    derived_token_dictionary,
    write_tokens,
)
from tests.scrna_tokens_support import geneformer_options, v2_from_v1

G = [f"ENSG{n:011d}" for n in range(10)]
V1_TOKENS = {"<pad>": 0, "<mask>": 1, G[0]: 5, G[1]: 7, G[2]: 6, G[3]: 2, G[4]: 3, G[5]: 4}
MEDIANS = {G[0]: 2.0, G[1]: 1.0, G[2]: 3.0, G[3]: 1.0, G[4]: 1.0, G[5]: 0.5}


def options(version="v1", size=None, specials=None, name_id=None) -> GeneformerOptions:
    return geneformer_options(version, size, specials, gene_name_id_dictionary=name_id)


def geneformer(genes, version="v1", size=None, tokens=None, medians=None, **kw) -> GeneformerTokenizer:
    tokens = tokens if tokens is not None else (V1_TOKENS if version == "v1" else v2_from_v1(V1_TOKENS))
    opts = options(version, size)
    vocab = GeneformerVocabulary.load(opts, tokens=tokens, medians=medians or MEDIANS)
    return GeneformerTokenizer(vocab, genes, opts, **kw)


def cells(chunk) -> list[list[int]]:
    return [chunk.cell(k).tolist() for k in range(len(chunk.offsets) - 1)]


# --- Geneformer -------------------------------------------------------------------------------------


def test_ties_are_broken_by_token_id() -> None:
    # counts 4, 2, 6 over medians 2, 1, 3 -> equal values 2/17e4 (bitwise); column 3 (G[9]) is not in the
    # dictionaries but counts in n_counts = 17. Tokens: G0=5, G2=6, G1=7.
    tok = geneformer([G[0], G[1], G[2], G[9]])
    chunk = tok.tokenize_chunk(sparse.csr_matrix([[4, 2, 6, 5]]))
    assert cells(chunk) == [[5, 6, 7]]
    assert tok.summary()["share_of_counts_in_vocabulary"] == pytest.approx(12 / 17)


def test_n_counts_includes_genes_outside_the_dictionaries() -> None:
    # G3 (median 1) count 3, G5 (median 0.5) count 2: 3/n/1 vs 2/n/0.5 = 4/n -> G5 (token 4) first.
    # The out-of-vocabulary count changes n_counts but not the order; share = 5/105.
    tok = geneformer([G[3], G[5], G[9]])
    chunk = tok.tokenize_chunk(sparse.csr_matrix([[3, 2, 100]]))
    assert cells(chunk) == [[4, 2]]
    assert tok.summary()["share_of_counts_in_vocabulary"] == pytest.approx(5 / 105)
    assert tok.summary()["genes_in_vocabulary"] == 2


def test_duplicate_ensembl_ids_are_summed_and_ids_normalised() -> None:
    # G3 (median 1) appears as 'ensg00000000003.7' and 'ENSG00000000003'; G5 has median 0.5
    tok = geneformer([G[3].lower() + ".7", G[3], G[5]])
    chunk = tok.tokenize_chunk(sparse.csr_matrix(np.array([[1.0, 1.5, 1.2]])))
    # G3 summed = 2.5 > G5 = 1.2 / 0.5 = 2.4; G3 alone (1.5) would lose
    assert cells(chunk) == [[2, 4]]
    assert tok.summary()["distinct_tokens"] == 2 and tok.summary()["genes_in_vocabulary"] == 3


def test_repeated_csr_entries_of_one_column_are_summed() -> None:
    # column 0 (G3, median 1) stored twice in the row: 1.5 + 1.0 = 2.5 > G5's 1.2 / 0.5 = 2.4
    matrix = sparse.csr_matrix((np.array([1.5, 1.2, 1.0]), np.array([0, 1, 0]), np.array([0, 3])), shape=(1, 2))
    assert not matrix.has_canonical_format
    assert cells(geneformer([G[3], G[5]]).tokenize_chunk(matrix)) == [[2, 4]]


def test_symbols_are_mapped_through_the_gene_name_dictionary(tmp_path: Path) -> None:
    names = tmp_path / "names.json"
    names.write_text(json.dumps({"CD3E": G[0], "NKG7": G[1]}))
    opts = options(name_id=str(names))
    vocab = GeneformerVocabulary.load(opts, tokens=V1_TOKENS, medians=MEDIANS)
    tok = GeneformerTokenizer(vocab, ["CD3E", "NKG7", "cd3e", G[2]], opts)
    chunk = tok.tokenize_chunk(sparse.csr_matrix([[2, 1, 50, 3]]))
    # symbols (1 name in 4 is an Ensembl id, under the shared 90 % rule): cd3e is not a symbol of the
    # dictionary (exact match) and G2 is not one at all: both dropped. G0 2/2 = G1 1/1 -> tie -> 5, 7
    assert cells(chunk) == [[5, 7]]
    assert tok.summary()["genes_with_ensembl_id"] == 2


def test_truncation_without_and_with_special_tokens_v1_vs_v2() -> None:
    genes = [G[0], G[1], G[2], G[3]]
    counts = sparse.csr_matrix([[8, 2, 3, 1]])  # values /n: G0 4, G1 2, G2 1, G3 1 -> G0, G1, then tie G2(6)/G3(2)
    full_v1 = cells(geneformer(genes).tokenize_chunk(counts))
    assert full_v1 == [[5, 7, 2, 6]]
    tok = geneformer(genes, size=3)
    assert cells(tok.tokenize_chunk(counts)) == [[5, 7, 2]]
    assert tok.summary()["cells_truncated"] == 1 and tok.summary()["ties_at_truncation"] == 1
    tok = geneformer(genes, size=2)
    assert cells(tok.tokenize_chunk(counts)) == [[5, 7]]
    assert tok.summary()["ties_at_truncation"] == 0
    # V2: same genes shifted by 2, <cls>=2 first and <eos>=3 last; size 4 leaves 2 genes
    assert cells(geneformer(genes, "v2").tokenize_chunk(counts)) == [[2, 7, 9, 4, 8, 3]]
    tok = geneformer(genes, "v2", size=4)
    assert cells(tok.tokenize_chunk(counts)) == [[2, 7, 9, 3]]
    assert tok.summary()["cells_truncated"] == 1


def test_empty_cells_are_reported_and_dropped() -> None:
    tok = geneformer([G[0], G[9]])
    # row 0 holds an explicit stored zero (not a count), row 1 only a gene outside the dictionaries
    matrix = sparse.csr_matrix(
        (np.array([0, 7, 3], dtype=np.float32), np.array([0, 1, 0]), np.array([0, 1, 2, 3])), shape=(3, 2)
    )
    chunk = tok.tokenize_chunk(matrix)
    assert chunk.kept.tolist() == [False, False, True] and cells(chunk) == [[5]]
    summary = tok.summary()
    assert summary["cells_tokenised"] == 1 and summary["cells_dropped_empty"] == 2


def test_chunks_give_the_same_tokens_as_one_pass() -> None:
    rng = np.random.default_rng(3)
    counts = sparse.random(40, 6, density=0.6, random_state=rng, data_rvs=lambda n: rng.integers(1, 4, n)).tocsr()
    genes = [G[0], G[1], G[2], G[3], G[4], G[5]]
    whole = cells(geneformer(genes, size=3).tokenize_chunk(counts))
    tok = geneformer(genes, size=3)
    parts = [cells(tok.tokenize_chunk(counts[i : i + 7])) for i in range(0, 40, 7)]
    assert [cell for part in parts for cell in part] == whole


@pytest.mark.parametrize(
    "version, tokens, problem",
    [
        ("v1", v2_from_v1(V1_TOKENS), "a V2 dictionary"),
        ("v2", V1_TOKENS, "<cls> is absent"),
        ("v2", {**v2_from_v1(V1_TOKENS), "<cls>": 5, G[3]: 2}, "<cls> is id 5"),
        ("v1", {"<pad>": 1, "<mask>": 0, G[0]: 2}, "<pad> is id 1"),
        ("v1", {"<pad>": 0, "<mask>": 1, G[0]: 1}, "id of a special token"),
        ("v1", {"<pad>": 0, "<mask>": 1, G[0]: 2, G[1]: 2}, "same id to two genes"),
        ("v1", {"<pad>": 0, "<mask>": 1, G[0]: -2}, "non-negative integer"),
    ],
)
def test_dictionaries_that_do_not_fit_the_version_are_refused(version, tokens, problem) -> None:
    with pytest.raises(InputError, match=problem) as caught:
        GeneformerVocabulary.load(options(version), tokens=tokens, medians=MEDIANS)
    assert "\n" not in str(caught.value)


def test_special_tokens_override_needs_cls_and_eos() -> None:
    with pytest.raises(InputError, match="special_tokens is true"):
        GeneformerVocabulary.load(options("v1", specials=True), tokens=V1_TOKENS, medians=MEDIANS)
    with pytest.raises(InputError, match="positive finite"):
        GeneformerVocabulary.load(options("v1"), tokens=V1_TOKENS, medians={G[0]: 0.0})


def test_gene_medians_are_exact_nonzero_medians_streamed() -> None:
    # cells (n_counts): [2, 2] (4) -> 5000, 5000; [1, 0, 3] (4) -> 2500, -, 7500; [0, 5, 5] (10) -> -, 5000, 5000
    # G0 non-zero values 5000, 2500 -> 3750; G1 (two columns, summed per cell): 5000, 7500, 10000 -> 7500
    counts = sparse.csr_matrix(np.array([[2, 2, 0], [1, 0, 3], [0, 5, 5]], dtype=np.float64))
    names = [G[0], G[1], G[1] + ".2"]
    whole = GeneMedianAccumulator(names)
    whole.add(counts)
    parts = GeneMedianAccumulator(names)
    for i in range(3):
        parts.add(counts[i : i + 1])
    assert whole.medians() == parts.medians() == {G[0]: 3750.0, G[1]: 7500.0}
    tokens = derived_token_dictionary({G[1]: 1.0, G[0]: 2.0}, "v2")
    assert tokens == {"<pad>": 0, "<mask>": 1, "<cls>": 2, "<eos>": 3, G[0]: 4, G[1]: 5}


def test_a_dataset_without_any_dictionary_gene_is_refused() -> None:
    with pytest.raises(InputError, match="no gene_name_id_dictionary is set"):
        geneformer(["CD3E", "NKG7"])
    with pytest.raises(InputError, match="none of the 2 genes of the set is in the scGPT vocabulary"):
        scgpt(["X1", "X2"])


def test_negative_values_are_refused() -> None:
    with pytest.raises(InputError, match="negative"):
        geneformer([G[0]]).tokenize_chunk(sparse.csr_matrix([[-1.0]]))


# --- plain rank -------------------------------------------------------------------------------------


def test_rank_orders_by_count_then_gene_index() -> None:
    # duplicate stored entries of column 1 are summed (2 + 2 = 4); explicit zero in column 3 skipped
    matrix = sparse.csr_matrix(
        (np.array([3.0, 2.0, 2.0, 4.0, 0.0, 3.0]), np.array([0, 1, 1, 2, 3, 4]), np.array([0, 6])), shape=(1, 5)
    )
    tok = RankTokenizer(5, RankOptions(n_genes=3))
    chunk = tok.tokenize_chunk(matrix)
    assert cells(chunk) == [[1, 2, 0]]
    assert tok.summary()["cells_truncated"] == 1 and tok.summary()["ties_at_truncation"] == 1


# --- scGPT ------------------------------------------------------------------------------------------


def scgpt(symbols, n_bins=5, max_len=10, genes="all", select="highest", seed=0, hvg=None) -> ScgptTokenizer:
    vocab = ScgptVocabulary.from_mapping({s: i for i, s in enumerate(["A", "B", "C", "D", "E"])}, "vocab.json")
    opts = ScgptOptions(vocab="vocab.json", n_bins=n_bins, max_len=max_len, genes=genes, select=select, seed=seed)
    return ScgptTokenizer(vocab, symbols, opts, hvg)


def test_scgpt_vocabulary_appends_special_tokens_after_the_largest_id() -> None:
    vocab = ScgptVocabulary.from_mapping({"A": 0, "B": 7, "<cls>": 3}, "v.json")
    assert vocab.ids == {"A": 0, "B": 7, "<cls>": 3, "<pad>": 8, "<eoc>": 9}
    assert vocab.appended == ["<pad>", "<eoc>"]
    with pytest.raises(InputError, match="same id"):
        ScgptVocabulary.from_mapping({"A": 0, "B": 0}, "v.json")


def test_scgpt_bin_edges_with_repeated_values() -> None:
    # [1, 1, 2] with n_bins 5: edges at q = 0, 1/3, 2/3, 1 -> 1, 1, 1.333, 2; digitize left: 1 -> 2, 2 -> 4
    # all-equal values: every edge equals the value -> bin n_bins - 1
    tok = scgpt(["A", "B", "C", "D"])
    chunk = tok.tokenize_chunk(sparse.csr_matrix([[1.0, 1.0, 2.0, 0.0], [0.5, 0.5, 0.5, 0.5]]))
    cls = tok.vocabulary.ids["<cls>"]
    assert cls == 6  # A..E = 0..4, then <pad> 5, <cls> 6, <eoc> 7
    assert cells(chunk) == [[cls, 0, 1, 2], [cls, 0, 1, 2, 3]]
    assert chunk.values.tolist() == [0, 2, 2, 4, 0, 4, 4, 4, 4]


def test_scgpt_drops_genes_outside_the_vocabulary_or_the_hvgs() -> None:
    tok = scgpt(["A", "Z", "C", "D"], genes="hvg", hvg=np.array([True, True, False, True]))
    chunk = tok.tokenize_chunk(sparse.csr_matrix([[1.0, 9.0, 9.0, 3.0]]))
    assert cells(chunk) == [[6, 0, 3]] and chunk.values.tolist() == [0, 1, 4]
    assert tok.summary()["genes_in_vocabulary"] == 2 and tok.summary()["genes_in_set"] == 3


def test_scgpt_highest_selection_keeps_column_order() -> None:
    tok = scgpt(["A", "B", "C", "D", "E"], max_len=3)
    chunk = tok.tokenize_chunk(sparse.csr_matrix([[5.0, 1.0, 4.0, 4.0, 2.0]]))
    # two genes: A (5) then the tie C/D (4) broken by column -> C; written in column order
    assert cells(chunk) == [[6, 0, 2]]
    assert tok.summary()["cells_truncated"] == 1 and tok.summary()["ties_at_truncation"] == 1


def test_scgpt_seeded_sample_is_deterministic_and_independent_of_chunking() -> None:
    rng = np.random.default_rng(0)
    values = sparse.csr_matrix(rng.random((30, 5)) + 0.1)
    full = scgpt(["A", "B", "C", "D", "E"], max_len=3, select="sample", seed=7)
    whole = full.tokenize_chunk(values)
    parts = scgpt(["A", "B", "C", "D", "E"], max_len=3, select="sample", seed=7)
    pieces = [parts.tokenize_chunk(values[i : i + 4], first_cell=i) for i in range(0, 30, 4)]
    assert [cell for piece in pieces for cell in cells(piece)] == cells(whole)
    assert np.concatenate([p.values for p in pieces]).tolist() == whole.values.tolist()
    other = scgpt(["A", "B", "C", "D", "E"], max_len=3, select="sample", seed=8).tokenize_chunk(values)
    assert cells(other) != cells(whole)
    all_bins = scgpt(["A", "B", "C", "D", "E"]).tokenize_chunk(values)
    chosen_sets = set()
    for k in range(30):
        genes = whole.cell(k)[1:].tolist()
        assert len(genes) == 2 and genes == sorted(genes)
        chosen_sets.add(tuple(genes))
        bins_full = dict(
            zip(
                all_bins.cell(k)[1:].tolist(),
                all_bins.values[all_bins.offsets[k] + 1 : all_bins.offsets[k + 1]].tolist(),
            )
        )
        bins_sample = whole.values[whole.offsets[k] + 1 : whole.offsets[k + 1]].tolist()
        assert bins_sample == [bins_full[g] for g in genes]  # bins come from all the cell's genes
    assert len(chosen_sets) > 3  # the sample varies between cells


# --- Parquet writer ---------------------------------------------------------------------------------


def test_writer_appends_chunks_with_scheme_metadata(tmp_path: Path) -> None:
    tok = scgpt(["A", "B", "C"])
    path = tmp_path / "scgpt.parquet"
    with TokenWriter(path, "genes", tok.parameters(), with_values=True, labels=["cell_type", "batch"]) as writer:
        chunk = tok.tokenize_chunk(sparse.csr_matrix([[1.0, 0, 2.0], [0, 0, 0]]))
        writer.write(["c1", "c2"], chunk, {"cell_type": ["T", "B"], "batch": ["b1", "b1"]})
        chunk = tok.tokenize_chunk(sparse.csr_matrix([[0, 3.0, 0]]))
        writer.write(["c3"], chunk, {"cell_type": ["NK"], "batch": ["b2"]})
    table = pq.read_table(path)
    assert table.column_names == ["cell_id", "genes", "values", "length", "cell_type", "batch"]
    assert table.to_pylist() == [
        {"cell_id": "c1", "genes": [6, 0, 2], "values": [0, 1, 4], "length": 3, "cell_type": "T", "batch": "b1"},
        {"cell_id": "c3", "genes": [6, 1], "values": [0, 4], "length": 2, "cell_type": "NK", "batch": "b2"},
    ]
    meta = table.schema.metadata
    assert meta[b"genoprep.scheme"] == b"scgpt"
    assert json.loads(meta[b"genoprep.parameters"])["n_bins"] == 5
    assert table.schema.field("genes").type.value_type == pa.int32()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scgpt.parquet"]  # no partial file left


def test_writer_leaves_no_file_after_an_error(tmp_path: Path) -> None:
    path = tmp_path / "rank.parquet"
    tok = RankTokenizer(2, RankOptions(n_genes=2))
    with pytest.raises(ValueError, match="cell ids"), TokenWriter(path, "input_ids", tok.parameters()) as writer:
        writer.write(["only one"], tok.tokenize_chunk(sparse.csr_matrix([[1, 2], [3, 4]])))
    assert list(tmp_path.iterdir()) == []  # neither the target nor its partial file


# --- card fragment ----------------------------------------------------------------------------------


def test_schema_fragment_fills_the_defaults_the_options_read() -> None:
    from snakemake.utils import validate

    schema = Path(__file__).resolve().parents[2] / "genoprep" / "schemas" / "modality" / "scrna_tokens.schema.yaml"
    params = {"tokenizers": ["geneformer", "rank"], "geneformer": {"version": "v2"}}
    validate(params, str(schema), set_default=True)
    card = {"params": params}
    gf_options = GeneformerOptions.from_card(card)
    assert gf_options.input_size == 4096 and gf_options.with_specials
    assert RankOptions.from_card(card).n_genes == 2048
    scgpt_options = ScgptOptions.from_card(card)
    assert (scgpt_options.n_bins, scgpt_options.max_len, scgpt_options.genes) == (51, 1200, "hvg")
    with pytest.raises(InputError, match="params.scgpt.vocab is not set"):
        ScgptVocabulary.load(scgpt_options.vocab)
    with pytest.raises(Exception, match="not valid|is not one of"):
        validate({"tokenizers": ["bpe"]}, str(schema), set_default=True)


def test_write_tokens_streams_chunks_with_labels(tmp_path: Path) -> None:
    counts = sparse.csr_matrix(np.array([[1, 3, 0], [0, 0, 0], [2, 2, 5], [0, 4, 0]], dtype=np.float32))
    tok = RankTokenizer(3, RankOptions(n_genes=2))
    path = tmp_path / "rank.parquet"
    written = write_tokens(
        tok, [(0, counts[:2]), (2, counts[2:])], path, ["a", "b", "c", "d"], {"donor_id": ["d1", "d1", "d2", "d2"]}
    )
    assert written == 3 and tok.summary()["cells_dropped_empty"] == 1
    assert pq.read_table(path).to_pylist() == [
        {"cell_id": "a", "input_ids": [1, 0], "length": 2, "donor_id": "d1"},
        {"cell_id": "c", "input_ids": [2, 0], "length": 2, "donor_id": "d2"},  # tie 2/2: gene 0 first
        {"cell_id": "d", "input_ids": [1], "length": 1, "donor_id": "d2"},
    ]
    with pytest.raises(ValueError, match="expected row 2, got 3"):
        write_tokens(tok, [(0, counts[:2]), (3, counts[3:])], tmp_path / "bad.parquet", ["a", "b", "c", "d"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rank.parquet"]  # bad.parquet: no file, no partial
