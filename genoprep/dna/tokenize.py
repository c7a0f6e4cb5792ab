"""DNA tokenizers: one pure, vectorised function per published scheme, and a registry.

Every ``*_encode`` function takes a batch of sequences (``str`` or ASCII ``bytes``, already
validated by :mod:`genoprep.dna.io`) and works on the bytes with numpy lookup tables and
rolling 2-bit codes; there is no per-base Python loop. All schemes upper-case soft-masked
bases first (see :mod:`genoprep.dna.alphabet`).

Output shapes:

* fixed length, ``np.ndarray`` of shape ``(n_sequences, max_len)``: ``char``, ``hyenadna``;
* variable length, :class:`RaggedTokens` (flat ``values`` + ``offsets``, convertible to a list
  of arrays or an Arrow ``list<int32>`` array): ``dnabert``, ``nucleotide_transformer``;
* counts, ``(n_sequences, n_kmers)`` dense array (k < 6) or CSR matrix (k >= 6): ``kmer_counts``.

The rules of each scheme are in its docstring; the tests check them on hand-worked cases.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np

from genoprep.dna.alphabet import (
    ACGT_CODES,
    ATCG_CODES,
    BASES,
    CHAR_DEFAULT_MAX_LEN,
    CHAR_PAD_ID,
    CHAR_TABLE,
    DNABERT_CLS_ID,
    DNABERT_KS,
    DNABERT_SEP_ID,
    DNABERT_SPECIAL_TOKENS,
    DNABERT_UNK_ID,
    HYENADNA_DEFAULT_MAX_LEN,
    HYENADNA_PAD_ID,
    HYENADNA_SEP_ID,
    HYENADNA_TABLE,
    MAX_K,
    NOT_A_BASE,
    NT_ALPHABET,
    NT_CLS_ID,
    NT_DEFAULT_K,
    NT_SPECIAL_TOKENS,
    NT_UNK_ID,
    char_vocab,
    dnabert_vocab,
    hyenadna_vocab,
    kmer_strings,
    nucleotide_transformer_vocab,
)

if TYPE_CHECKING:  # pyarrow and scipy are imported where used: not paid by the workflow's parse
    import pyarrow as pa
    import scipy.sparse as sp

SeqLike = str | bytes
Truncation = Literal["right", "left"]

#: Separator placed between sequences when a batch is concatenated; it is no base, so no
#: k-mer window can span two sequences.
_SEPARATOR = b"\n"
#: kmer_counts returns CSR from this k on (4**6 = 4096 columns).
SPARSE_FROM_K = 6
#: Largest k for canonical k-mers (the column map has 4**k entries).
MAX_CANONICAL_K = 12


class RaggedTokens(NamedTuple):
    """Variable-length token ids of a batch: sequence i is ``values[offsets[i]:offsets[i+1]]``."""

    values: np.ndarray
    """All token ids, int32, concatenated."""
    offsets: np.ndarray
    """int64 array of length n_sequences + 1, starting at 0."""

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> np.ndarray:
        return self.values[self.offsets[i] : self.offsets[i + 1]]

    @property
    def lengths(self) -> np.ndarray:
        """Number of tokens of each sequence."""
        return np.diff(self.offsets)

    def to_list(self) -> list[np.ndarray]:
        """Return one int32 array per sequence."""
        return [self[i] for i in range(len(self))]

    def to_arrow(self) -> pa.ListArray:
        """Return the batch as an Arrow ``list<int32>`` array (no copy of the values)."""
        import pyarrow as pa

        return pa.ListArray.from_arrays(pa.array(self.offsets.astype(np.int32)), pa.array(self.values))


# ----------------------------------------------------------------- helpers


def _as_bytes(sequence: SeqLike) -> bytes:
    """Return a validated sequence as ASCII bytes."""
    return sequence.encode("ascii") if isinstance(sequence, str) else bytes(sequence)


def _concat(sequences: Sequence[SeqLike]) -> tuple[bytes, np.ndarray, np.ndarray]:
    """Join a batch with separators; return (joined bytes, start offsets, lengths)."""
    parts = [_as_bytes(s) for s in sequences]
    lengths = np.fromiter((len(p) for p in parts), dtype=np.int64, count=len(parts))
    starts = np.zeros(len(parts), dtype=np.int64)
    if len(parts) > 1:
        starts[1:] = np.cumsum(lengths[:-1] + len(_SEPARATOR))
    return _SEPARATOR.join(parts), starts, lengths


def _lookup(data: bytes, table: bytes) -> np.ndarray:
    """Apply a 256-byte translation table (``table.tobytes()`` of a lookup table) to bytes.

    ``bytes.translate`` runs at C speed and, unlike ``table[np.frombuffer(data)]``, does not
    widen the bytes to intp indices first.
    """
    return np.frombuffer(data.translate(table), dtype=np.uint8)


def _ragged_arange(starts: np.ndarray, counts: np.ndarray, step: int = 1) -> np.ndarray:
    """Concatenate ``starts[i] + step * arange(counts[i])`` over i (int64)."""
    keep = counts > 0
    starts, counts = starts[keep].astype(np.int64), counts[keep].astype(np.int64)
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    # A cumulative sum of steps, with a jump from the end of each run to the start of the next.
    steps = np.full(total, step, dtype=np.int64)
    steps[0] = starts[0]
    first_of_run = np.cumsum(counts[:-1])
    steps[first_of_run] = starts[1:] - starts[:-1] - step * (counts[:-1] - 1)
    return np.cumsum(steps, out=steps)


def _code_dtype(k: int) -> type[np.unsignedinteger]:
    """Smallest unsigned dtype holding every k-mer code (< 4**k)."""
    return np.uint16 if k <= 8 else np.uint32


def _window_codes(codes: np.ndarray, k: int) -> np.ndarray:
    """Rolling 2-bit codes of every length-k window of ``codes`` (only the low 2 bits are used).

    Returns an array of length ``len(codes) - k + 1``: window i has code
    ``sum((codes[i+j] & 3) * 4**(k-1-j))``. Built by doubling (codes of windows of 1, 2, 4, ...
    bases combined by multiply-or, in uint8 while they fit), so k = 6 costs three vector passes
    instead of six. Windows holding a non-base get a meaningless code: find them with
    :func:`_bad_windows`.
    """
    n_windows = codes.size - k + 1
    dtype = _code_dtype(k)
    if n_windows <= 0:
        return np.zeros(0, dtype=dtype)
    powers: dict[int, np.ndarray] = {1: codes & 3}
    width = 1
    while 2 * width <= k:
        code = powers[width]
        wide = dtype if 4 * width > 8 else np.uint8  # a window of 2*width bases needs 4*width bits
        doubled = np.multiply(code[:-width], wide(4**width), dtype=wide)  # shift by 2*width bits
        np.bitwise_or(doubled, code[width:], out=doubled)
        powers[2 * width] = doubled
        width *= 2
    result: np.ndarray | None = None
    covered = 0
    for width in sorted(powers, reverse=True):
        if covered + width > k:
            continue
        code = powers[width]
        if result is None:
            result = code
        else:
            size = codes.size - covered - width + 1
            combined = np.multiply(result[:size], dtype(4**width), dtype=dtype)
            np.bitwise_or(combined, code[covered : covered + size], out=combined)
            result = combined
        covered += width
    assert result is not None and covered == k
    return result[:n_windows].astype(dtype, copy=False)


def _bad_windows(bad_positions: np.ndarray, k: int, n_windows: int) -> np.ndarray:
    """Sorted indices of the length-k windows that contain any of ``bad_positions`` (sorted).

    Cost grows with the number of bad positions, not with the sequence: overlapping ranges
    ``[p-k+1, p]`` are merged, then expanded.
    """
    if bad_positions.size == 0 or n_windows <= 0:
        return np.zeros(0, dtype=np.int64)
    first = np.maximum(bad_positions - k + 1, 0)
    last = np.minimum(bad_positions, n_windows - 1)
    keep = first <= last
    first, last = first[keep], last[keep]
    if first.size == 0:
        return np.zeros(0, dtype=np.int64)
    opens = np.ones(first.size, dtype=bool)
    opens[1:] = first[1:] > last[:-1] + 1
    closes = np.append(opens[1:], True)
    group_first, group_last = first[opens], last[closes]
    return _ragged_arange(group_first, group_last - group_first + 1)


def _check_k(k: int) -> None:
    if not 1 <= k <= MAX_K:
        raise ValueError(f"k must be between 1 and {MAX_K}, not {k}")


def _check_max_len(max_len: int, minimum: int = 1) -> None:
    if max_len < minimum:
        raise ValueError(f"max_len must be at least {minimum}, not {max_len}")


# ----------------------------------------------------------------- char

_CHAR_BYTES = CHAR_TABLE.tobytes()
_HYENADNA_BYTES = HYENADNA_TABLE.tobytes()
_ACGT_BYTES = ACGT_CODES.tobytes()
_ATCG_BYTES = ATCG_CODES.tobytes()


def _fill_rows(
    rows: np.ndarray, sequences: Sequence[SeqLike], truncation: Truncation, table: bytes, *, align_end: bool
) -> np.ndarray:
    """Write each sequence's ids (looked up in ``table``) into its row of ``rows`` (pre-filled with padding).

    A sequence longer than a row keeps its first (``truncation="right"``) or last bases; the ids
    start the row, or end it with ``align_end`` (padding on the left). Returns ``rows``.
    """
    width = rows.shape[1]
    for i, sequence in enumerate(sequences):
        ids = _lookup(_as_bytes(sequence[:width] if truncation == "right" else sequence[-width:]), table)
        if align_end:
            rows[i, width - ids.size :] = ids
        else:
            rows[i, : ids.size] = ids
    return rows


def char_ids(sequence: SeqLike) -> np.ndarray:
    """``char`` ids of one whole sequence, unpadded (uint8): A=0 C=1 G=2 T=3, anything else N=4."""
    return _lookup(_as_bytes(sequence), _CHAR_BYTES)


@dataclass(frozen=True)
class FixedLayout:
    """How a fixed-length scheme lays out a row: one id per base, padding, special tokens."""

    table: bytes
    """256-byte lookup table: byte -> id (lower case as upper case)."""
    pad_id: int
    default_max_len: int
    end_id: int | None = None
    """A token closing every row ([SEP] of HyenaDNA), or None."""
    pad_left: bool = False
    """Padding before the bases (the bases end the row) instead of after them."""

    @property
    def reserved(self) -> int:
        """Tokens of a row that are not bases."""
        return int(self.end_id is not None)


def encode_fixed(
    layout: FixedLayout,
    sequences: Sequence[SeqLike],
    max_len: int | None = None,
    truncation: Truncation = "right",
    dtype: Any = np.int32,
) -> np.ndarray:
    """Encode a batch into an array ``(len(sequences), max_len)`` of ``dtype`` laid out as ``layout`` says.

    ``max_len`` counts every token of a row (``layout.default_max_len`` when None), so a row
    holds ``max_len - layout.reserved`` bases. A longer sequence loses its end
    (``truncation="right"``) or its start (``"left"``); a shorter one is padded.
    """
    max_len = layout.default_max_len if max_len is None else max_len
    _check_max_len(max_len, minimum=1 + layout.reserved)
    rows = np.full((len(sequences), max_len), layout.pad_id, dtype=dtype)
    if layout.end_id is not None:
        rows[:, -1] = layout.end_id
    _fill_rows(rows[:, : max_len - layout.reserved], sequences, truncation, layout.table, align_end=layout.pad_left)
    return rows


#: ``char`` scheme: one id per base, fixed length. Vocabulary A=0, C=1, G=2, T=3, N=4, <PAD>=5.
#: Lower case is upper-cased; every other IUPAC code becomes N. Sequences longer than
#: ``max_len`` lose their end (``truncation="right"``, default) or their start (``"left"``);
#: shorter ones are padded with <PAD> on the right.
CHAR_LAYOUT = FixedLayout(_CHAR_BYTES, CHAR_PAD_ID, CHAR_DEFAULT_MAX_LEN)

#: ``hyenadna`` scheme: HyenaDNA's ``CharacterTokenizer`` with [SEP] appended, left-padded.
#: Ids [CLS]=0 [SEP]=1 [BOS]=2 [MASK]=3 [PAD]=4 [RESERVED]=5 [UNK]=6 A=7 C=8 G=9 T=10 N=11;
#: lower case is upper-cased, any other IUPAC code is [UNK] (the tokenizer's rule for
#: characters outside A,C,G,T,N). As in HyenaDNA's fine-tuning datasets (tokenize with
#: ``truncation=True``, whose default side keeps the start, pad on the left, then append
#: [SEP] when ``add_eos``), each row is ``[PAD]... bases [SEP]``. ``max_len`` counts every
#: token, so at most ``max_len - 1`` bases are kept (HyenaDNA's ``max_length`` + 1 = our
#: ``max_len``); ``truncation="left"`` keeps the end instead.
HYENADNA_LAYOUT = FixedLayout(
    _HYENADNA_BYTES, HYENADNA_PAD_ID, HYENADNA_DEFAULT_MAX_LEN, end_id=HYENADNA_SEP_ID, pad_left=True
)

#: ``char_encode(sequences, max_len=512, truncation="right", dtype=np.int32)``: see :data:`CHAR_LAYOUT`.
char_encode = functools.partial(encode_fixed, CHAR_LAYOUT)
#: ``hyenadna_encode(sequences, max_len=1024, truncation="right", dtype=np.int32)``: see :data:`HYENADNA_LAYOUT`.
hyenadna_encode = functools.partial(encode_fixed, HYENADNA_LAYOUT)


# ----------------------------------------------------------------- DNABERT


def dnabert_encode_numpy(sequences: Sequence[SeqLike], k: int = 6) -> RaggedTokens:
    """``dnabert`` scheme: overlapping k-mers (stride 1) with DNABERT's vocabulary.

    Ids [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4, then k-mer ``i`` of
    ``itertools.product("ATCG", repeat=k)`` has id ``5 + i``. A k-mer holding anything other
    than A,T,C,G (after upper-casing) is [UNK]. Each sequence becomes
    ``[CLS] kmer_1 ... kmer_{L-k+1} [SEP]`` (just ``[CLS] [SEP]`` when L < k).
    """
    if k not in DNABERT_KS:
        raise ValueError(f"DNABERT k must be one of {DNABERT_KS}, not {k}")
    joined, starts, lengths = _concat(sequences)
    codes = _lookup(joined, _ATCG_BYTES)
    window = _window_codes(codes, k)
    counts = np.maximum(lengths - k + 1, 0)
    offsets = np.zeros(len(starts) + 1, dtype=np.int64)
    np.cumsum(counts + 2, out=offsets[1:])  # [CLS] k-mers [SEP]
    values = np.empty(int(offsets[-1]), dtype=np.int32)
    # Each sequence's window codes go straight to their place, shifted past the special tokens
    # (one pass: no int32 copy of all windows, no second copy to assemble the rows).
    for start, count, at in zip(starts.tolist(), counts.tolist(), offsets[:-1].tolist()):
        np.add(
            window[start : start + count],
            len(DNABERT_SPECIAL_TOKENS),
            out=values[at + 1 : at + 1 + count],
            dtype=np.int32,
        )
    values[offsets[:-1]] = DNABERT_CLS_ID
    values[offsets[1:] - 1] = DNABERT_SEP_ID
    bad = _bad_windows(np.flatnonzero(codes > 3), k, window.size)
    if bad.size:  # windows holding a non-base, where they belong to a sequence's k-mers
        row = np.searchsorted(starts, bad, side="right") - 1
        within = bad - starts[row]
        mine = within < counts[row]
        values[offsets[row[mine]] + 1 + within[mine]] = DNABERT_UNK_ID
    return RaggedTokens(values, offsets)


# ----------------------------------------------------------------- Nucleotide Transformer

_NT_OTHER, _NT_N, _NT_BREAK = NOT_A_BASE, 5, 6
_NT_TABLE = ATCG_CODES.copy()
_NT_TABLE[[ord("N"), ord("n")]] = _NT_N
_NT_TABLE[ord(_SEPARATOR)] = _NT_BREAK
_NT_BYTES = _NT_TABLE.tobytes()


def nucleotide_transformer_encode_numpy(sequences: Sequence[SeqLike], k: int = NT_DEFAULT_K) -> RaggedTokens:
    """``nucleotide_transformer`` scheme: InstaDeep's ``NucleotidesKmersTokenizer`` (v2 ids).

    Rule (nucleotide_transformer/tokenizers.py): split the sequence at every N; cut each piece
    into non-overlapping k-mers from its left end; the < k bases left at the end of a piece
    become single-nucleotide tokens; every N is a token of its own; ``<cls>`` is prepended.
    Ids: <unk>=0 <pad>=1 <mask>=2 <cls>=3 <eos>=4 <bos>=5, k-mers ``6 .. 6+4**k-1`` in
    ``product("ATCG")`` order, single A,T,C,G next, then N (4102..4106 for k = 6).
    Other IUPAC codes are kept in place, as InstaDeep's tokenizer does, so the k-mer or single
    letter holding them is not in the vocabulary and becomes ``<unk>``. Example (k = 5):
    ``ATCGAATNGGCGATGCAC`` -> ``<cls> ATCGA A T N GGCGA TGCAC``.
    """
    _check_k(k)
    single_base_id = len(NT_SPECIAL_TOKENS) + 4**k
    n_id = single_base_id + len(NT_ALPHABET)
    joined, _, _ = _concat(sequences)
    codes = _lookup(joined, _NT_BYTES)
    size = codes.size
    # Pieces are the runs between breaks (an N or the separator between two sequences).
    breaks = np.flatnonzero(codes >= _NT_N)
    piece_start = np.concatenate(([0], breaks + 1))
    piece_end = np.concatenate((breaks, [size]))
    piece_length = piece_end - piece_start
    n_kmers = piece_length // k
    n_singles = piece_length - n_kmers * k
    opens_sequence = np.ones(piece_start.size, dtype=bool)  # piece starts a sequence: <cls> first
    opens_sequence[1:] = codes[breaks] == _NT_BREAK
    then_n = np.append(codes[breaks] == _NT_N, False)  # piece is followed by an N token
    n_tokens = opens_sequence + n_kmers + n_singles + then_n
    token_start = np.cumsum(n_tokens) - n_tokens
    values = np.empty(int(n_tokens.sum()), dtype=np.int32)
    values[token_start[opens_sequence]] = NT_CLS_ID
    # k-mers: codes of the windows at the piece's k-mer starts; a window with another IUPAC
    # code (never an N or a separator: those end pieces) is <unk>.
    # Only every k-th window is a token: its code is built from k strided gathers (no rolling
    # code of every window).
    kmer_at = _ragged_arange(piece_start, n_kmers, step=k)
    kmer_ids = np.zeros(kmer_at.size, dtype=np.int32)
    other = np.zeros(kmer_at.size, dtype=bool)
    for j in range(k):
        base = codes[kmer_at + j]
        kmer_ids <<= 2
        kmer_ids |= base & 3
        other |= base == _NT_OTHER
    kmer_ids += len(NT_SPECIAL_TOKENS)
    kmer_ids[other] = NT_UNK_ID
    values[_ragged_arange(token_start + opens_sequence, n_kmers)] = kmer_ids
    single_at = _ragged_arange(piece_start + n_kmers * k, n_singles)
    single_codes = codes[single_at].astype(np.int32)
    values[_ragged_arange(token_start + opens_sequence + n_kmers, n_singles)] = np.where(
        single_codes == _NT_OTHER, NT_UNK_ID, single_codes + single_base_id
    )
    values[(token_start + n_tokens - 1)[then_n]] = n_id
    offsets = np.append(token_start[opens_sequence], values.size).astype(np.int64)
    return RaggedTokens(values, offsets)


def dnabert_encode(sequences: Sequence[SeqLike], k: int = 6) -> RaggedTokens:
    """``dnabert`` scheme (rules: :func:`dnabert_encode_numpy`), in one compiled pass over the batch.

    :func:`genoprep.dna.kernels.dnabert_rows` looks each byte up in the 2-bit code table and
    writes each row's ids with a rolling k-mer code.
    """
    from genoprep.dna.kernels import dnabert_rows  # numba: not at workflow parse time

    if k not in DNABERT_KS:
        raise ValueError(f"DNABERT k must be one of {DNABERT_KS}, not {k}")
    joined, starts, lengths = _concat(sequences)
    offsets = np.empty(len(starts) + 1, dtype=np.int64)
    values = np.empty(int(np.maximum(lengths - k + 1, 0).sum()) + 2 * len(starts), dtype=np.int32)
    dnabert_rows(
        np.frombuffer(joined, dtype=np.uint8),
        ATCG_CODES,
        starts,
        lengths,
        k,
        len(DNABERT_SPECIAL_TOKENS),
        DNABERT_CLS_ID,
        DNABERT_SEP_ID,
        DNABERT_UNK_ID,
        values,
        offsets,
    )
    return RaggedTokens(values, offsets)


def nucleotide_transformer_encode(sequences: Sequence[SeqLike], k: int = NT_DEFAULT_K) -> RaggedTokens:
    """``nucleotide_transformer`` scheme (rules: :func:`nucleotide_transformer_encode_numpy`), in one
    compiled pass over the batch (:func:`genoprep.dna.kernels.nucleotide_transformer_rows`)."""
    from genoprep.dna.kernels import nucleotide_transformer_rows  # numba: not at workflow parse time

    _check_k(k)
    joined, starts, lengths = _concat(sequences)
    offsets = np.empty(len(starts) + 1, dtype=np.int64)
    values = np.empty(int(lengths.sum()) + len(starts), dtype=np.int32)  # at most one id a base, + <cls>
    size = nucleotide_transformer_rows(
        np.frombuffer(joined, dtype=np.uint8),
        _NT_TABLE,
        starts,
        lengths,
        k,
        len(NT_SPECIAL_TOKENS),
        len(NT_SPECIAL_TOKENS) + 4**k,
        len(NT_SPECIAL_TOKENS) + 4**k + len(NT_ALPHABET),
        NT_CLS_ID,
        NT_UNK_ID,
        _NT_N,
        _NT_OTHER,
        values,
        offsets,
    )
    return RaggedTokens(values[:size], offsets)


# ----------------------------------------------------------------- k-mer counts


def reverse_complement_codes(codes: np.ndarray, k: int) -> np.ndarray:
    """Return the 2-bit code (A=0,C=1,G=2,T=3) of the reverse complement of each k-mer code."""
    complement = (4**k - 1) - codes.astype(np.int64)  # complement of each base is 3 - base
    reverse = np.zeros_like(complement)
    for _ in range(k):
        reverse = reverse * 4 + (complement & 3)
        complement >>= 2
    return reverse


def canonical_kmer_codes(k: int) -> np.ndarray:
    """Codes of the canonical k-mers, ascending: those with ``code <= reverse_complement(code)``."""
    _check_canonical_k(k)
    codes = np.arange(4**k, dtype=np.int64)
    return codes[codes <= reverse_complement_codes(codes, k)]


def _check_canonical_k(k: int) -> None:
    _check_k(k)
    if k > MAX_CANONICAL_K:
        raise ValueError(f"canonical k-mers are supported up to k={MAX_CANONICAL_K}, not {k}")


def kmer_names(k: int, canonical: bool = False) -> list[str]:
    """Names of the ``kmer_counts`` columns in order: ``product("ACGT", repeat=k)``.

    With ``canonical=True`` only canonical k-mers (the smaller code of a k-mer and its
    reverse complement) are listed.
    """
    _check_k(k)
    names = kmer_strings(k, BASES)
    if not canonical:
        return names
    return [names[c] for c in canonical_kmer_codes(k)]


def kmer_counts(
    sequences: Sequence[SeqLike],
    k: int = 3,
    canonical: bool = False,
    sparse: bool | None = None,
) -> np.ndarray | sp.csr_matrix:
    """``kmer_counts`` scheme: occurrences of every k-mer (overlapping, stride 1) per sequence.

    Columns are the ``4**k`` k-mers in lexicographic order over A,C,G,T (2-bit codes A=0 C=1
    G=2 T=3; names from :func:`kmer_names`). Lower case counts as upper case; a window holding
    any other letter (N, IUPAC ambiguity codes) is skipped. With ``canonical=True`` (k <= 12) a
    k-mer and its reverse complement are counted together, in the column of the canonical one
    (the smaller code); only canonical columns exist, so there are ``4**k/2`` (k odd) or
    ``(4**k + 4**(k/2))/2`` (k even) columns.

    Method: rolling 2-bit codes of all windows, ``np.bincount`` per sequence (``np.unique``
    when 4**k > 2**20), minus the counts of the (few) windows that hold a non-base; sequences
    are processed in cache-sized blocks (long ones cut into pieces overlapping by k-1).
    Returns an int32 array ``(n_sequences, n_columns)`` for k < 6, a CSR matrix (int32) for
    k >= 6; ``sparse`` forces one or the other.
    """
    _check_k(k)
    n_codes = 4**k
    column_of = None
    n_columns = n_codes
    if canonical:
        _check_canonical_k(k)
        columns = canonical_kmer_codes(k)
        codes_all = np.arange(n_codes, dtype=np.int64)
        column_of = np.searchsorted(columns, np.minimum(codes_all, reverse_complement_codes(codes_all, k)))
        n_columns = columns.size
    if sparse is None:
        sparse = k >= SPARSE_FROM_K
    parts = [_as_bytes(sequence) for sequence in sequences]
    n = len(parts)
    results: list[tuple[np.ndarray, np.ndarray] | None] = [None] * n

    def finish(i: int, row: np.ndarray | None, present: np.ndarray | None = None) -> None:
        """Store the counts of sequence i (a dense row, or present codes + counts in ``row``)."""
        if row is None:
            return
        if present is None:
            if column_of is not None:
                row = np.bincount(column_of, weights=row, minlength=n_columns).astype(np.int64)
            present = np.flatnonzero(row)
            how_many = row[present]
        else:
            how_many = row
            if column_of is not None:
                present = column_of[present]
                order = np.argsort(present, kind="stable")
                present, how_many = present[order], how_many[order]
                present, first = np.unique(present, return_index=True)
                how_many = np.add.reduceat(how_many, first) if how_many.size else how_many
            keep = how_many > 0
            present, how_many = present[keep], how_many[keep]
        results[i] = (present, how_many)

    if n_codes > (1 << 20):  # too many codes for a bincount per sequence: sort instead
        for i, part in enumerate(parts):
            codes = _lookup(part, _ACGT_BYTES)
            window = _window_codes(codes, k)
            present, how_many = np.unique(window, return_counts=True)
            skipped = window[_bad_windows(np.flatnonzero(codes > 3), k, window.size)]
            if skipped.size:
                gone, gone_count = np.unique(skipped, return_counts=True)
                how_many[np.searchsorted(present, gone)] -= gone_count
            finish(i, how_many, present)
    else:
        # Long sequences: translated once, then counted in cache-sized views overlapping by
        # k-1 bases. Short ones are grouped into blocks, each encoded at once.
        short: list[tuple[int, bytes]] = []
        for i, part in enumerate(parts):
            if len(part) >= _LONG_BASES:
                finish(i, _count_long(part, k, n_codes))
            elif len(part) >= k:
                short.append((i, part))
        current, row = -1, None
        for block in _blocks(short):
            joined, starts, lengths = _concat([piece for _, piece in block])
            codes = _lookup(joined, _ACGT_BYTES)
            window = _window_codes(codes, k)
            bad = _bad_windows(np.flatnonzero(codes > 3), k, window.size)
            counts = np.maximum(lengths - k + 1, 0)
            bounds = np.searchsorted(bad, np.stack([starts, starts + counts]))
            for j, (i, _) in enumerate(block):
                if i != current:
                    if current >= 0:
                        finish(current, row)
                    current, row = i, np.zeros(n_codes, dtype=np.int64)
                assert row is not None
                row += np.bincount(window[starts[j] : starts[j] + counts[j]], minlength=n_codes)
                skipped = window[bad[bounds[0, j] : bounds[1, j]]]
                if skipped.size:
                    row -= np.bincount(skipped, minlength=n_codes)
        if current >= 0:
            finish(current, row)
    empty = np.zeros(0, np.int64)
    if not sparse:
        dense = np.zeros((n, n_columns), dtype=np.int32)
        for i, result in enumerate(results):
            if result is not None:
                dense[i, result[0]] = result[1]
        return dense
    indptr = np.zeros(n + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([0 if r is None else r[0].size for r in results])
    done = [r for r in results if r is not None]
    import scipy.sparse as sp

    return sp.csr_matrix(
        (
            np.concatenate([r[1] for r in done]).astype(np.int32) if done else empty.astype(np.int32),
            np.concatenate([r[0] for r in done]).astype(np.int32) if done else empty.astype(np.int32),
            indptr,
        ),
        shape=(n, n_columns),
    )


#: How many non-bases :func:`_non_base_positions` looks up one by one before using numpy.
_FEW_NON_BASES = 64


def _non_base_positions(codes: bytes) -> np.ndarray:
    """Sorted positions of the non-bases (code 4) in 2-bit codes given as bytes.

    Most stretches of a genome hold none or a few: ``bytes.find`` (``memchr``) finds those
    without a pass over the data in Python-visible arrays; more than a few fall back to numpy.
    """
    found: list[int] = []
    at = codes.find(b"\x04")
    while at >= 0:
        if len(found) == _FEW_NON_BASES:
            return np.flatnonzero(np.frombuffer(codes, dtype=np.uint8) > 3)
        found.append(at)
        at = codes.find(b"\x04", at + 1)
    return np.asarray(found, dtype=np.int64)


def _count_long(part: bytes, k: int, n_codes: int) -> np.ndarray:
    """k-mer counts (dense, int64, ``n_codes`` long) of one long sequence.

    The sequence is translated to 2-bit codes once; rolling codes and ``np.bincount`` then run
    on views of :data:`_BLOCK_BASES` windows (overlapping by k-1 bases: no copies, each window
    counted once). Windows holding a non-base are counted too, then taken off again: their
    codes are recomputed from the (few) windows around each non-base.
    """
    coded = part.translate(_ACGT_BYTES)
    codes = np.frombuffer(coded, dtype=np.uint8)
    n_windows = codes.size - k + 1
    row = np.zeros(n_codes, dtype=np.int64)
    for start in range(0, n_windows, _BLOCK_BASES):
        piece = codes[start : start + _BLOCK_BASES + k - 1]
        row += np.bincount(_window_codes(piece, k), minlength=n_codes)
    bad = _bad_windows(_non_base_positions(coded), k, n_windows)
    if bad.size:
        skipped = np.zeros(bad.size, dtype=np.int64)
        for j in range(k):
            skipped = skipped * 4 + (codes[bad + j] & 3)
        row -= np.bincount(skipped, minlength=n_codes)
    return row


#: Bases encoded at once by kmer_counts: small enough for the working arrays to stay in cache.
_BLOCK_BASES = 1 << 18
#: Sequences from this length on are counted one by one (:func:`_count_long`); below it the
#: fixed cost of a 4**k row per sequence is worth sharing in blocks.
_LONG_BASES = 1 << 14


def _blocks(parts: Sequence[tuple[int, bytes]]) -> Iterator[list[tuple[int, bytes]]]:
    """Group (sequence index, sequence) pairs into blocks of about :data:`_BLOCK_BASES` bases."""
    block: list[tuple[int, bytes]] = []
    size = 0
    for i, part in parts:
        if block and size + len(part) > _BLOCK_BASES:
            yield block
            block, size = [], 0
        block.append((i, part))
        size += len(part)
    if block:
        yield block


# ----------------------------------------------------------------- k-mer strings


def kmer_tokenize(sequence: str, k: int, stride: int = 1) -> list[str]:
    """k-mer strings of a sequence, as in the classic spec.

    ``[sequence[i:i+k] for i in range(0, len(sequence) - k + 1, stride)]`` — no case change,
    no special tokens; ``kmer_tokenize("ACGTA", 3)`` is ``["ACG", "CGT", "GTA"]``.
    """
    if k < 1 or stride < 1:
        raise ValueError(f"k and stride must be positive, not k={k}, stride={stride}")
    return [sequence[i : i + k] for i in range(0, len(sequence) - k + 1, stride)]


def kmer_text(sequence: str, k: int, stride: int = 1) -> str:
    """Space-joined :func:`kmer_tokenize` (the DNABERT text input format)."""
    return " ".join(kmer_tokenize(sequence, k, stride))


def decode(ids: Sequence[int] | np.ndarray, vocabulary: Sequence[str]) -> list[str]:
    """Map token ids back to token strings with a vocabulary list (index = id)."""
    return [vocabulary[int(i)] for i in ids]


# ----------------------------------------------------------------- registry

SchemeKind = Literal["fixed", "variable", "counts", "text"]


def _kmer_text_encode(sequences: Sequence[SeqLike], k: int, stride: int) -> list[str]:
    """``kmer_tokenize`` of a batch: each upper-cased sequence's k-mers joined by spaces."""
    return [kmer_text((s.decode("ascii") if isinstance(s, bytes) else s).upper(), k, stride) for s in sequences]


@dataclass(frozen=True)
class TokenScheme:
    """Everything about one tokenization scheme a card may name in ``params.tokenizers``.

    Adding a scheme is one entry in :data:`SCHEMES` (and its settings object in the DNA card
    schema): the workflow's rules match the artifact names of each ``kind``
    (:func:`scheme_pattern`), and the completed card's facts come from here.

    - ``kind``: ``fixed`` -> ``tokens_<name>.npy`` (sequences x ``max_len``), ``variable`` ->
      ``tokens_<name>.parquet`` (a ``list<int32>`` column), ``counts`` -> ``kmers_k<k>.npz``
      + ``kmers_k<k>.tsv``, ``text`` -> ``tokens_<name>.tsv``;
    - ``encode(sequences, **settings)`` and ``vocabulary(**settings)`` (index = id) take the
      scheme's settings from the card (``params.<name>``, schema defaults filled in);
    - ``description``: a template formatted with the settings, for the completed card;
    - ``reserved``: tokens of a fixed row that are not bases ([SEP] of HyenaDNA), so a row
      holds ``max_len - reserved`` bases (:meth:`usable_length`).
    """

    name: str
    kind: SchemeKind
    encode: Callable[..., Any]
    vocabulary: Callable[..., list[str]]
    description: str
    reserved: int = 0

    def artifacts(self, settings: Mapping[str, Any]) -> tuple[str, ...]:
        """File names of this scheme's artifact(s) under the dataset folder."""
        if self.kind == "fixed":
            return (f"tokens_{self.name}.npy",)
        if self.kind == "variable":
            return (f"tokens_{self.name}.parquet",)
        if self.kind == "counts":
            return (f"kmers_k{settings['k']}.npz", f"kmers_k{settings['k']}.tsv")
        return (f"tokens_{self.name}.tsv",)

    def usable_length(self, settings: Mapping[str, Any]) -> int:
        """Bases a fixed-length row holds (``max_len`` minus the reserved special tokens)."""
        if self.kind != "fixed":
            raise ValueError(f"scheme {self.name!r} has no fixed length")
        return int(settings["max_len"]) - self.reserved

    def describe(self, settings: Mapping[str, Any]) -> str:
        return self.description.format(**settings)


SCHEMES: dict[str, TokenScheme] = {
    scheme.name: scheme
    for scheme in (
        TokenScheme(
            "char",
            "fixed",
            char_encode,
            lambda **_: char_vocab(),
            "one id per base (A=0 C=1 G=2 T=3 N=4 <PAD>=5; other IUPAC codes -> N), "
            "padded/truncated to max_len={max_len} (truncation side: {truncation})",
        ),
        TokenScheme(
            "kmer_counts",
            "counts",
            kmer_counts,
            lambda k, canonical, **_: kmer_names(k, canonical),
            "overlapping {k}-mer counts (stride 1, k-mers with non-ACGT skipped, canonical={canonical})",
        ),
        TokenScheme(
            "dnabert",
            "variable",
            dnabert_encode,
            lambda k, **_: dnabert_vocab(k),
            "DNABERT overlapping {k}-mers (stride 1), [CLS] ... [SEP], k-mers with non-ACGT -> [UNK]",
        ),
        TokenScheme(
            "nucleotide_transformer",
            "variable",
            nucleotide_transformer_encode,
            lambda k, **_: nucleotide_transformer_vocab(k),
            "Nucleotide Transformer v2 non-overlapping {k}-mers from the left, split at N, "
            "leftover bases as single tokens, <cls> prepended",
        ),
        TokenScheme(
            "hyenadna",
            "fixed",
            hyenadna_encode,
            lambda **_: hyenadna_vocab(),
            "HyenaDNA CharacterTokenizer ids ([PAD]=4 [SEP]=1 [UNK]=6 A=7 C=8 G=9 T=10 N=11), "
            "[SEP] appended, left-padded to max_len={max_len} (truncation side: {truncation})",
            reserved=HYENADNA_LAYOUT.reserved,
        ),
        TokenScheme(
            "kmer_tokenize",
            "text",
            _kmer_text_encode,
            lambda k, **_: kmer_strings(k, BASES),
            "space-separated {k}-mers with stride {stride} (upper-cased)",
        ),
    )
}


def get_scheme(name: str) -> TokenScheme:
    """The scheme called ``name``; ValueError lists the known names otherwise."""
    try:
        return SCHEMES[name]
    except KeyError:
        raise ValueError(f"unknown DNA tokenization scheme {name!r}; known: {', '.join(SCHEMES)}") from None


def scheme_pattern(kind: SchemeKind) -> str:
    """A regex matching exactly the names of the schemes of one kind (the rules' ``scheme`` wildcard)."""
    names = [name for name, scheme in SCHEMES.items() if scheme.kind == kind]
    return "|".join(names) if names else "(?!)"
