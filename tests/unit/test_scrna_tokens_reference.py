"""Plain-Python references of the scRNA-seq token schemes (issue 11), one cell at a time.

Written from the rules of issue 11 without any code of genoprep.scrna.tokens, so that the
unit, property and real-data tests compare the compiled kernels with something independent.
The references themselves are checked here on hand-computed cases.
"""

from __future__ import annotations

import re

import numpy as np

ENSEMBL = re.compile(r"^ENS[A-Z]*[GTPE]\d{11}(\.\d+)?$")


def csr_rows(matrix) -> list[list[tuple[int, float]]]:
    """Each cell's (column, value) pairs in stored order (dense input allowed)."""
    from scipy import sparse

    matrix = sparse.csr_matrix(matrix)
    rows = []
    for cell in range(matrix.shape[0]):
        start, end = matrix.indptr[cell], matrix.indptr[cell + 1]
        rows.append([(int(c), float(v)) for c, v in zip(matrix.indices[start:end], matrix.data[start:end])])
    return rows


def ensembl_ids(names, name_id: dict | None) -> list:
    """Ensembl id per gene: names that are >= 90 % Ensembl ids (upper-cased) are ids, else symbols."""
    upper = [n.strip().upper() for n in names]
    is_id = [bool(ENSEMBL.match(u)) for u in upper]
    as_ids = sum(is_id) >= 0.9 * len(names)
    ids = []
    for name, u, matched in zip(names, upper, is_id):
        if as_ids and matched:
            ids.append(u.split(".")[0])
        elif name_id is not None and name in name_id:
            ids.append(str(name_id[name]).upper().split(".")[0])
        else:
            ids.append(None)
    return ids


def geneformer_cell(row, column_ids, tokens, medians, input_size, specials):
    """Geneformer tokens of one cell, or None when it has no non-zero gene in both dictionaries."""
    scored = geneformer_scored(row, column_ids, tokens, medians)
    if not scored:
        return None
    genes = input_size - 2 if specials else input_size
    ranked = [token for _, token in scored[:genes]]
    return [tokens["<cls>"], *ranked, tokens["<eos>"]] if specials else ranked


def geneformer_scored(row, column_ids, tokens, medians):
    """One cell's (value, token) pairs in Geneformer order (value descending, token ascending)."""
    n_counts = 0.0
    for _, value in row:
        n_counts += value
    summed: dict[str, float] = {}
    for column, value in row:
        gene = column_ids[column]
        if gene is None or gene not in tokens or gene not in medians or value == 0:
            continue
        summed[gene] = summed.get(gene, 0.0) + value
    scored = [(count / n_counts * 10000.0 / medians[gene], tokens[gene]) for gene, count in summed.items()]
    scored.sort(key=lambda pair: (-pair[0], pair[1]))
    return scored


def rank_cell(row, n_genes):
    """Plain rank of one cell: columns by count descending, ties by column; None when empty."""
    summed: dict[int, float] = {}
    for column, value in row:
        summed[column] = summed.get(column, 0.0) + value
    nonzero = [(value, column) for column, value in summed.items() if value != 0]
    if not nonzero:
        return None
    nonzero.sort(key=lambda pair: (-pair[0], pair[1]))
    return [column for _, column in nonzero[:n_genes]]


def scgpt_bins(values: list[float], n_bins: int) -> list[int]:
    """scGPT's binning of a cell's non-zero values, deterministic (left) variant, with numpy itself."""
    array = np.array(values, dtype=np.float64)
    edges = np.quantile(array, np.linspace(0, 1, n_bins - 1))
    return [int(b) for b in np.digitize(array, edges)]


def scgpt_cell(row, column_vocab_id, n_bins, max_len, cls_id, highest=True):
    """(genes, values) of one cell with highest-value selection, or None when empty.

    ``column_vocab_id[c]`` is the vocabulary id of column c, or None (outside the vocabulary
    or the gene set).
    """
    summed: dict[int, float] = {}
    for column, value in row:
        summed[column] = summed.get(column, 0.0) + value
    kept = sorted((c, v) for c, v in summed.items() if v != 0 and column_vocab_id[c] is not None)
    if not kept:
        return None
    bins = scgpt_bins([v for _, v in kept], n_bins)
    chosen = list(range(len(kept)))
    if len(kept) > max_len - 1:
        assert highest, "the sampled selection has no plain reference"
        by_value = sorted(chosen, key=lambda i: (-kept[i][1], kept[i][0]))
        chosen = sorted(by_value[: max_len - 1])
    genes = [cls_id] + [column_vocab_id[kept[i][0]] for i in chosen]
    values = [0] + [bins[i] for i in chosen]
    return genes, values


# --- the references on hand-computed cases ---------------------------------------------------------


def test_geneformer_reference_hand_case() -> None:
    # counts A=4 (median 2), B=2 (median 1), C=6 (median 3), D=5 (not in dictionary); n_counts=17
    # values: A=4/17e4/2, B=2/17e4/1, C=6/17e4/3 -> all equal 2/17e4 (bitwise in float64)
    # -> ties by token: A(5) < C(6) < B(7)
    ids = ["ENSG00000000001", "ENSG00000000002", "ENSG00000000003", "ENSG00000000004"]
    tokens = {"<pad>": 0, "<mask>": 1, ids[0]: 5, ids[1]: 7, ids[2]: 6}
    medians = {ids[0]: 2.0, ids[1]: 1.0, ids[2]: 3.0}
    row = [(0, 4.0), (1, 2.0), (2, 6.0), (3, 5.0)]
    assert geneformer_cell(row, ids, tokens, medians, 2048, False) == [5, 6, 7]
    assert geneformer_cell(row, ids, tokens, medians, 2, False) == [5, 6]
    assert geneformer_cell([(3, 5.0)], ids, tokens, medians, 2048, False) is None


def test_rank_and_scgpt_reference_hand_case() -> None:
    assert rank_cell([(0, 1.0), (2, 3.0), (5, 3.0), (7, 0.0)], 2) == [2, 5]
    # 4 values, n_bins=5 -> edges at quantiles 0, 1/3, 2/3, 1 of [1, 2, 2, 4] = 1, 2, 2, 4
    # digitize left: 1 -> 1, 2 -> 3 (edges <= 2: three), 4 -> 4
    assert scgpt_bins([1.0, 2.0, 2.0, 4.0], 5) == [1, 3, 3, 4]
    genes, values = scgpt_cell([(0, 1.0), (1, 2.0), (2, 2.0), (3, 4.0)], [10, 11, None, 13], 5, 3, 99)
    # column 2 is outside the vocabulary: bins over [1, 2, 4]: edges 1, 1.667, 2.667, 4 -> bins 1, 2, 4;
    # max_len 3 = <cls> + 2 genes: the two highest (columns 3 and 1), written in column order
    assert genes == [99, 11, 13] and values == [0, 2, 4]
