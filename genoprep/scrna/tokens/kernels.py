"""Compiled kernels over the CSR arrays of a chunk of cells (numba, one pass, no Python per cell).

Each kernel reads ``indptr``/``indices``/``data`` of a cells x genes CSR chunk and writes
the tokens of the kept cells one after another into a preallocated flat array whose size
is an upper bound (the sum over cells of ``min(nnz, limit)`` plus the special tokens);
``lengths`` says how many tokens each cell got (0 = empty cell, dropped by the caller).
Ties are broken deterministically everywhere: sorts are stable (``mergesort``) over keys
that are already in the tie-break order.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# scratch arrays of order_desc_then_id: (float32, uint32 keys, uint32 keys, int64 positions, 4 x 257 histogram)
Work = tuple

# Per-chunk counters returned by the kernels (indices into their ``counters`` array).
C_TRUNCATED = 0
C_TIES = 1
N_COUNTERS = 2


@njit(cache=True)
def _average_ranks(keys: np.ndarray) -> np.ndarray:
    """Ranks 1..n of ``keys`` with tied keys given their average rank (as scipy's rankdata)."""
    n = keys.shape[0]
    order = np.argsort(keys, kind="mergesort")
    ranks = np.empty(n, np.float64)
    i = 0
    while i < n:
        j = i
        while j + 1 < n and keys[order[j + 1]] == keys[order[i]]:
            j += 1
        rank = (i + j) / 2.0 + 1.0
        for k in range(i, j + 1):
            ranks[order[k]] = rank
        i = j + 1
    return ranks


@njit(cache=True)
def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rho (Pearson correlation of average ranks); NaN when either side is constant."""
    rx = _average_ranks(x)
    ry = _average_ranks(y)
    mx = rx.mean()
    my = ry.mean()
    sxy = 0.0
    sxx = 0.0
    syy = 0.0
    for i in range(x.shape[0]):
        dx = rx[i] - mx
        dy = ry[i] - my
        sxy += dx * dy
        sxx += dx * dx
        syy += dy * dy
    if sxx == 0.0 or syy == 0.0:
        return np.nan
    return sxy / np.sqrt(sxx * syy)


@njit(cache=True)
def order_desc_then_id(values: np.ndarray, ids: np.ndarray, order: np.ndarray, work: Work) -> None:
    """Fill ``order[:n]`` with the positions of ``values`` (>= 0, n = len(values)) sorted by value
    descending, equal values by ``ids`` ascending — exactly, on the float64 values.

    First an LSD radix sort (stable, branch-free, 4 byte passes at most, moving keys with
    positions) on the values rounded to float32: rounding is monotone and, for non-negative
    floats, the bit pattern grows with the value, so its complement sorts descending. Positions
    whose float32 keys are equal (true ties, or float64 values closer than float32 resolution)
    form short runs, which are then put in exact (float64 value descending, id ascending) order
    by insertion sort. ``work`` holds the scratch arrays (see :func:`make_work`).
    """
    narrow, keys_a, keys_b, scratch, histogram = work
    n = values.shape[0]
    for i in range(n):
        narrow[i] = np.float32(values[i])
    bits = narrow.view(np.uint32)
    histogram[:, :] = 0
    for i in range(n):
        key = ~bits[i]
        keys_a[i] = key
        order[i] = i
        histogram[0, (key & np.uint32(255)) + 1] += 1
        histogram[1, ((key >> np.uint32(8)) & np.uint32(255)) + 1] += 1
        histogram[2, ((key >> np.uint32(16)) & np.uint32(255)) + 1] += 1
        histogram[3, (key >> np.uint32(24)) + 1] += 1
    keys_src, keys_dst, src, dst = keys_a, keys_b, order, scratch
    for byte in range(4):
        shift = np.uint32(8 * byte)
        if histogram[byte, ((keys_src[0] >> shift) & np.uint32(255)) + 1] == n:
            continue  # every element has the same byte here
        counts = histogram[byte]
        for d in range(256):
            counts[d + 1] += counts[d]
        for i in range(n):
            key = keys_src[i]
            d = (key >> shift) & np.uint32(255)
            p = counts[d]
            keys_dst[p] = key
            dst[p] = src[i]
            counts[d] = p + 1
        keys_src, keys_dst, src, dst = keys_dst, keys_src, dst, src
    if src is not order:
        order[:n] = src[:n]
    i = 0
    while i < n:
        j = i
        while j + 1 < n and keys_src[j + 1] == keys_src[i]:
            j += 1
        for a in range(i + 1, j + 1):
            current = order[a]
            b = a - 1
            while b >= i and (
                values[order[b]] < values[current]
                or (values[order[b]] == values[current] and ids[order[b]] > ids[current])
            ):
                order[b + 1] = order[b]
                b -= 1
            order[b + 1] = current
        i = j + 1


@njit(cache=True)
def make_work(size: int) -> Work:
    """Scratch arrays of :func:`order_desc_then_id` for rows of up to ``size`` values."""
    size = max(size, 1)
    return (
        np.empty(size, np.float32),
        np.empty(size, np.uint32),
        np.empty(size, np.uint32),
        np.empty(size, np.int64),
        np.zeros((4, 257), np.int64),
    )


@njit(cache=True)
def ranked_prefix(values, ids, order, work, limit, counters):
    """Order a cell's values (descending, ties by id) into ``order`` and return how many are kept
    (at most ``limit``), counting a truncation and a tie across its boundary in ``counters``."""
    m = values.shape[0]
    order_desc_then_id(values, ids, order, work)
    if m > limit:
        counters[C_TRUNCATED] += 1
        if values[order[limit - 1]] == values[order[limit]]:
            counters[C_TIES] += 1
    return min(m, limit)


@njit(cache=True)
def geneformer_kernel(
    indptr,
    indices,
    data,
    gene_token,
    median,
    target_sum,
    n_genes,
    cls_id,
    eos_id,
    capacity,
    with_spearman,
    merge_duplicates,
):
    """Geneformer rank-value tokens of every cell of a CSR chunk.

    ``gene_token[j]`` is the token of column j (-1: not in both dictionaries; columns sharing
    an Ensembl id share a token and their counts are summed when ``merge_duplicates``); ``median[t]`` the gene median
    of token t. Per cell: ``n_counts`` = sum of all its values (every column), value of token
    t = ``count / n_counts * target_sum / median[t]`` in float64, order = value descending
    then token ascending, at most ``n_genes`` genes, wrapped in ``cls_id``/``eos_id`` when
    they are >= 0. Returns (flat ids, lengths, counters, in-vocabulary counts, total counts,
    Spearman rho between count and value per cell (NaN if not computed or undefined)).
    """
    n_cells = indptr.shape[0] - 1
    n_tokens = median.shape[0]
    out = np.empty(capacity, np.int32)
    lengths = np.zeros(n_cells, np.int64)
    counters = np.zeros(N_COUNTERS, np.int64)
    counts_in_vocab = np.zeros(n_cells, np.float64)
    counts_total = np.zeros(n_cells, np.float64)
    rho = np.full(n_cells, np.nan)
    mark = np.full(n_tokens, -1, np.int64)
    acc = np.zeros(n_tokens, np.float64)
    max_row = 0
    for cell in range(n_cells):
        max_row = max(max_row, indptr[cell + 1] - indptr[cell])
    buf = np.empty(max(max_row, 1), np.int32)
    values = np.empty(max(max_row, 1), np.float64)
    counts = np.empty(max(max_row, 1), np.float64)
    order = np.empty(max(max_row, 1), np.int64)
    work = make_work(max_row)
    specials = 2 if cls_id >= 0 else 0
    pos = 0
    for cell in range(n_cells):
        n_counts = 0.0
        m = 0
        for k in range(indptr[cell], indptr[cell + 1]):
            count = data[k]
            n_counts += count
            token = gene_token[indices[k]]
            if token < 0 or count == 0.0:
                continue
            if merge_duplicates:  # columns sharing a token: their counts are summed in acc
                if mark[token] == cell:
                    acc[token] += count
                    continue
                mark[token] = cell
                acc[token] = count
            buf[m] = token
            counts[m] = count
            m += 1
        if merge_duplicates:
            for i in range(m):
                counts[i] = acc[buf[i]]
        counts_total[cell] = n_counts
        if m == 0:
            continue
        in_vocab = 0.0
        for i in range(m):
            in_vocab += counts[i]
            values[i] = counts[i] / n_counts * target_sum / median[buf[i]]
        counts_in_vocab[cell] = in_vocab
        kept = ranked_prefix(values[:m], buf[:m], order, work, n_genes, counters)
        if specials:
            out[pos] = cls_id
            pos += 1
        for i in range(kept):
            out[pos] = buf[order[i]]
            pos += 1
        if specials:
            out[pos] = eos_id
            pos += 1
        lengths[cell] = kept + specials
        if with_spearman and m >= 2:
            rho[cell] = _spearman(counts[:m], values[:m])
    return out[:pos], lengths, counters, counts_in_vocab, counts_total, rho


@njit(cache=True)
def rank_kernel(indptr, indices, data, n_genes, capacity):
    """Plain rank: column indices by value descending, ties by column ascending (CSR rows must be
    sorted by column, duplicates summed), non-zero values only, at most ``n_genes`` per cell."""
    n_cells = indptr.shape[0] - 1
    out = np.empty(capacity, np.int32)
    lengths = np.zeros(n_cells, np.int64)
    counters = np.zeros(N_COUNTERS, np.int64)
    max_row = 1
    for cell in range(n_cells):
        max_row = max(max_row, indptr[cell + 1] - indptr[cell])
    values = np.empty(max_row, np.float64)
    columns = np.empty(max_row, np.int32)
    order = np.empty(max_row, np.int64)
    work = make_work(max_row)
    pos = 0
    for cell in range(n_cells):
        m = 0
        for k in range(indptr[cell], indptr[cell + 1]):
            if data[k] != 0.0:
                values[m] = data[k]
                columns[m] = indices[k]
                m += 1
        if m == 0:
            continue
        kept = ranked_prefix(values[:m], columns[:m], order, work, n_genes, counters)
        for i in range(kept):
            out[pos] = columns[order[i]]
            pos += 1
        lengths[cell] = kept
    return out[:pos], lengths, counters


@njit(cache=True)
def _splitmix64(state: np.uint64) -> tuple[np.uint64, np.uint64]:
    state = state + np.uint64(0x9E3779B97F4A7C15)
    z = state
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return state, z ^ (z >> np.uint64(31))


@njit(cache=True)
def sample_positions(m: int, k: int, seed: int, cell: int) -> np.ndarray:
    """k distinct positions out of 0..m-1, sorted ascending: a partial Fisher-Yates shuffle driven
    by SplitMix64 seeded with (seed, global cell index), so a cell's choice does not depend on the
    chunking. Bounded draws use rejection sampling (no modulo bias)."""
    state = np.uint64(seed) * np.uint64(0x100000001B3) ^ np.uint64(cell)
    state, _ = _splitmix64(state)
    pool = np.arange(m)
    for i in range(k):
        span = np.uint64(m - i)
        limit = np.uint64(0xFFFFFFFFFFFFFFFF) - (np.uint64(0xFFFFFFFFFFFFFFFF) % span)
        while True:
            state, draw = _splitmix64(state)
            if draw < limit:
                break
        j = i + np.int64(draw % span)
        pool[i], pool[j] = pool[j], pool[i]
    return np.sort(pool[:k])


@njit(cache=True)
def quantile_edges(sorted_values: np.ndarray, quantiles: np.ndarray) -> np.ndarray:
    """numpy's default ('linear') ``np.quantile`` of float64 values already sorted ascending,
    with numpy's own arithmetic (index (n-1)*q, lerp from the nearer end)."""
    n = sorted_values.shape[0]
    edges = np.empty(quantiles.shape[0], np.float64)
    for i in range(quantiles.shape[0]):
        virtual = (n - 1) * quantiles[i]
        if virtual >= n - 1:
            edges[i] = sorted_values[n - 1]
            continue
        previous = np.floor(virtual)
        gamma = virtual - previous
        a = sorted_values[np.int64(previous)]
        b = sorted_values[np.int64(previous) + 1]
        diff = b - a
        if gamma >= 0.5:
            edges[i] = b - diff * (1.0 - gamma)
        else:
            edges[i] = a + diff * gamma
    return edges


@njit(cache=True)
def scgpt_kernel(indptr, indices, data, gene_id, quantiles, max_genes, cls_id, highest, seed, first_cell, capacity):
    """scGPT gene ids and value bins of every cell of a CSR chunk (rows sorted by column).

    ``gene_id[j]`` is the vocabulary id of column j (-1: outside the vocabulary or the gene
    set). Per cell, over its non-zero in-set values: edges = linear quantiles at
    ``quantiles`` (``np.linspace(0, 1, n_bins - 1)``), bin = number of edges <= value
    (``np.digitize``, left side: 1..n_bins-1); at most ``max_genes`` genes, chosen by a seeded
    sample or by highest value (ties by column), kept in column order, ``cls_id`` first
    with value 0. Returns (flat ids, flat bins, lengths, counters).
    """
    n_cells = indptr.shape[0] - 1
    ids_out = np.empty(capacity, np.int32)
    bins_out = np.empty(capacity, np.int32)
    lengths = np.zeros(n_cells, np.int64)
    counters = np.zeros(N_COUNTERS, np.int64)
    pos = 0
    for cell in range(n_cells):
        start = indptr[cell]
        end = indptr[cell + 1]
        m = 0
        for k in range(start, end):
            if data[k] != 0.0 and gene_id[indices[k]] >= 0:
                m += 1
        if m == 0:
            continue
        values = np.empty(m, np.float64)
        ids = np.empty(m, np.int32)
        i = 0
        for k in range(start, end):
            if data[k] != 0.0 and gene_id[indices[k]] >= 0:
                values[i] = data[k]
                ids[i] = gene_id[indices[k]]
                i += 1
        edges = quantile_edges(np.sort(values), quantiles)
        bins = np.searchsorted(edges, values, side="right")
        if m > max_genes:
            counters[C_TRUNCATED] += 1
            if highest:
                order = np.argsort(-values, kind="mergesort")
                if values[order[max_genes - 1]] == values[order[max_genes]]:
                    counters[C_TIES] += 1
                chosen = np.sort(order[:max_genes])
            else:
                chosen = sample_positions(m, max_genes, seed, first_cell + cell)
        else:
            chosen = np.arange(m)
        ids_out[pos] = cls_id
        bins_out[pos] = 0
        pos += 1
        for i in range(chosen.shape[0]):
            ids_out[pos] = ids[chosen[i]]
            bins_out[pos] = bins[chosen[i]]
            pos += 1
        lengths[cell] = chosen.shape[0] + 1
    return ids_out[:pos], bins_out[:pos], lengths, counters


@njit(cache=True)
def segment_medians(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Median of each segment ``values[offsets[g]:offsets[g+1]]`` (sorted in place; as np.median:
    the mean of the two middle values for an even count; NaN for an empty segment)."""
    n = offsets.shape[0] - 1
    medians = np.full(n, np.nan)
    for g in range(n):
        segment = values[offsets[g] : offsets[g + 1]]
        size = segment.shape[0]
        if size == 0:
            continue
        segment.sort()
        half = size // 2
        if size % 2:
            medians[g] = segment[half]
        else:
            medians[g] = (segment[half - 1] + segment[half]) / 2.0
    return medians
