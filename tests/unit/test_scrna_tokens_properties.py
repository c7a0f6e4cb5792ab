"""Property tests (hypothesis) of the scRNA-seq tokens over random sparse matrices.

Small integer counts and a few distinct medians make ties frequent. Every case is compared
with the plain-Python reference (tests/unit/test_scrna_tokens_reference.py) and checked for
the properties of issue 11: tokens are a prefix of a permutation of the cell's non-zero
in-vocabulary genes, values do not increase along the sequence, lengths stay in bounds.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import sparse

from genoprep.errors import InputError
from genoprep.scrna.tokens import (
    GeneformerTokenizer,
    GeneformerVocabulary,
    RankOptions,
    RankTokenizer,
    ScgptOptions,
    ScgptTokenizer,
    ScgptVocabulary,
)
from tests.scrna_tokens_support import geneformer_options
from tests.unit.test_scrna_tokens_reference import (
    csr_rows,
    ensembl_ids,
    geneformer_cell,
    rank_cell,
    scgpt_bins,
    scgpt_cell,
)

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def count_matrices(draw, max_cells=8, max_genes=12):
    n_cells = draw(st.integers(1, max_cells))
    n_genes = draw(st.integers(1, max_genes))
    dense = draw(
        st.lists(
            st.lists(st.sampled_from([0, 0, 0, 1, 1, 2, 3, 7]), min_size=n_genes, max_size=n_genes),
            min_size=n_cells,
            max_size=n_cells,
        )
    )
    return sparse.csr_matrix(np.array(dense, dtype=np.float32))


@st.composite
def geneformer_cases(draw):
    counts = draw(count_matrices())
    n_genes = counts.shape[1]
    pool = [f"ENSG{n:011d}" for n in range(6)]
    names = [draw(st.sampled_from(pool + ["ENSG99999999999", "SYMBOL"])) for _ in range(n_genes)]
    in_vocab = draw(st.lists(st.booleans(), min_size=len(pool), max_size=len(pool)))
    version = draw(st.sampled_from(["v1", "v2"]))
    first = 2 if version == "v1" else 4
    ids = draw(st.permutations(list(range(first, first + len(pool)))))
    tokens = {"<pad>": 0, "<mask>": 1}
    if version == "v2":
        tokens.update({"<cls>": 2, "<eos>": 3})
    tokens.update({g: t for g, t, keep in zip(pool, ids, in_vocab) if keep})
    medians = {g: draw(st.sampled_from([0.5, 1.0, 2.0, 3.0])) for g in pool if draw(st.booleans()) or g in tokens}
    size = draw(st.integers(3, 8))
    return counts, names, tokens, medians, version, size


@SETTINGS
@given(geneformer_cases())
def test_geneformer_matches_the_reference(case) -> None:
    counts, names, tokens, medians, version, size = case
    options = geneformer_options(version, size)
    vocab = GeneformerVocabulary.load(options, tokens=tokens, medians=medians)
    column_ids = ensembl_ids(names, None)
    if not any(g in tokens and g in medians for g in column_ids):
        with pytest.raises(InputError, match="none of the"):
            GeneformerTokenizer(vocab, names, options)
        return
    tokenizer = GeneformerTokenizer(vocab, names, options)
    chunk = tokenizer.tokenize_chunk(counts)
    specials = version == "v2"
    expected = [geneformer_cell(row, column_ids, tokens, medians, size, specials) for row in csr_rows(counts)]
    assert chunk.kept.tolist() == [e is not None for e in expected]
    got = [chunk.cell(k).tolist() for k in range(int(chunk.kept.sum()))]
    assert got == [e for e in expected if e is not None]
    token_of = {t: g for g, t in tokens.items()}
    for row, sequence in zip([r for r, e in zip(csr_rows(counts), expected) if e is not None], got):
        genes = sequence[1:-1] if specials else sequence
        assert len(sequence) <= size
        in_cell = {column_ids[c] for c, v in row if v and column_ids[c] in tokens and column_ids[c] in medians}
        assert len(set(genes)) == len(genes) and {token_of[t] for t in genes} <= in_cell
        assert len(genes) == min(len(in_cell), size - 2 * specials)  # a prefix of a permutation of them
        n_counts = sum(v for _, v in row)
        totals = {}
        for c, v in row:
            totals[column_ids[c]] = totals.get(column_ids[c], 0.0) + v
        values = [totals[token_of[t]] / n_counts * 10000 / medians[token_of[t]] for t in genes]
        assert all(a >= b for a, b in itertools.pairwise(values))


@SETTINGS
@given(count_matrices(), st.integers(1, 6))
def test_rank_matches_the_reference(counts, n_genes) -> None:
    chunk = RankTokenizer(counts.shape[1], RankOptions(n_genes=n_genes)).tokenize_chunk(counts)
    expected = [rank_cell(row, n_genes) for row in csr_rows(counts)]
    assert [chunk.cell(k).tolist() for k in range(int(chunk.kept.sum()))] == [e for e in expected if e is not None]
    dense = counts.toarray()
    for k, row in enumerate(dense[chunk.kept]):
        ids = chunk.cell(k)
        assert np.all(row[ids] > 0) and np.all(np.diff(row[ids]) <= 0)
        assert len(ids) == min(int((row > 0).sum()), n_genes)


@st.composite
def value_vectors(draw):
    size = draw(st.integers(1, 40))
    pool = draw(st.lists(st.floats(0.01, 20, allow_nan=False), min_size=1, max_size=6))
    return [draw(st.sampled_from(pool)) for _ in range(size)]


@SETTINGS
@given(value_vectors(), st.integers(3, 60))
def test_scgpt_bins_equal_numpy_quantile_and_digitize(values, n_bins) -> None:
    vocab = ScgptVocabulary.from_mapping({f"G{i}": i for i in range(len(values))}, "v.json")
    options = ScgptOptions(
        vocab="v.json", n_bins=n_bins, max_len=len(values) + 1, genes="all", select="highest", seed=0
    )
    tokenizer = ScgptTokenizer(vocab, [f"G{i}" for i in range(len(values))], options)
    chunk = tokenizer.tokenize_chunk(sparse.csr_matrix(np.array([values])))
    assert chunk.values.tolist() == [0, *scgpt_bins(values, n_bins)]
    assert all(1 <= b <= n_bins - 1 for b in chunk.values[1:])


@SETTINGS
@given(count_matrices(max_genes=10), st.integers(2, 6), st.sampled_from(["highest", "sample"]), st.data())
def test_scgpt_matches_the_reference(counts, max_len, select, data) -> None:
    n_genes = counts.shape[1]
    values = counts.copy()
    values.data = np.log1p(values.data * 1.5)
    symbols = [f"G{i}" for i in range(n_genes)]
    vocab_ids = data.draw(
        st.lists(
            st.one_of(st.none(), st.integers(0, 50)),
            min_size=n_genes,
            max_size=n_genes,
            unique_by=lambda x: x if x is not None else object(),
        )
    )
    vocab = ScgptVocabulary.from_mapping({s: i for s, i in zip(symbols, vocab_ids) if i is not None}, "v.json")
    options = ScgptOptions(vocab="v.json", n_bins=7, max_len=max_len, genes="all", select=select, seed=3)
    if all(i is None for i in vocab_ids):
        with pytest.raises(InputError, match="none of the"):
            ScgptTokenizer(vocab, symbols, options)
        return
    chunk = ScgptTokenizer(vocab, symbols, options).tokenize_chunk(values)
    cls = vocab.ids["<cls>"]
    rows = csr_rows(values)
    if select == "highest":
        expected = [scgpt_cell(row, vocab_ids, 7, max_len, cls) for row in rows]
        assert [
            (chunk.cell(k).tolist(), chunk.values[chunk.offsets[k] : chunk.offsets[k + 1]].tolist())
            for k in range(int(chunk.kept.sum()))
        ] == [(g, v) for g, v in (e for e in expected if e is not None)]
    else:
        full = [scgpt_cell(row, vocab_ids, 7, 10**6, cls) for row in rows]
        assert chunk.kept.tolist() == [e is not None for e in full]
        for k, (genes, bins) in enumerate(e for e in full if e is not None):
            got = chunk.cell(k).tolist()
            got_values = chunk.values[chunk.offsets[k] : chunk.offsets[k + 1]].tolist()
            assert got[0] == cls and len(got) == min(len(genes), max_len)
            position = {g: i for i, g in enumerate(genes)}
            assert [position[g] for g in got] == sorted(position[g] for g in got)  # column order, subset
            assert got_values == [bins[position[g]] for g in got]


def test_quantile_edges_are_bitwise_numpy_quantile() -> None:
    # the compiled edges must equal np.quantile to the last bit (a rounding difference moves a bin)
    from genoprep.scrna.tokens.kernels import quantile_edges

    rng = np.random.default_rng(11)
    q = np.linspace(0, 1, 50)
    for size in list(range(1, 120)) * 4:
        values = np.log1p(rng.gamma(0.7, 3.0, size) * 100).astype(np.float32).astype(np.float64)
        assert np.array_equal(quantile_edges(np.sort(values), q), np.quantile(values, q)), size
