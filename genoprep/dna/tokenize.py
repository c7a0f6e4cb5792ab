"""DNA tokenizers: one pure, vectorised function per published scheme, and a registry.

Every ``*_encode`` function takes a batch of sequences (``str`` or ASCII ``bytes``, already
validated by :mod:`genoprep.dna.ingest`) and works on the bytes with numpy lookup tables and
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

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import numpy as np
import pyarrow as pa
import scipy.sparse as sp

from .alphabet import (
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

SeqLike = str | bytes
Truncation = Literal["right", "left"]

#: Separator placed between sequences when a batch is concatenated; it is no base, so no
#: k-mer window can span two sequences.
_SEPARATOR = b"\n"
#: kmer_counts returns CSR from this k on (4**6 = 4096 columns).
SPARSE_FROM_K = 6


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
        return pa.ListArray.from_arrays(pa.array(self.offsets.astype(np.int32)), pa.array(self.values))


# ----------------------------------------------------------------- helpers


def _as_bytes(sequence: SeqLike) -> bytes:
    """Return a validated sequence as ASCII bytes."""
    return sequence.encode("ascii") if isinstance(sequence, str) else bytes(sequence)


def _concat(sequences: Sequence[SeqLike]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Join a batch with separators; return (uint8 buffer, start offsets, lengths)."""
    parts = [_as_bytes(s) for s in sequences]
    lengths = np.fromiter((len(p) for p in parts), dtype=np.int64, count=len(parts))
    starts = np.zeros(len(parts), dtype=np.int64)
    if len(parts) > 1:
        starts[1:] = np.cumsum(lengths[:-1] + len(_SEPARATOR))
    buffer = np.frombuffer(_SEPARATOR.join(parts), dtype=np.uint8)
    return buffer, starts, lengths


def _ragged_arange(starts: np.ndarray, counts: np.ndarray, step: int = 1) -> np.ndarray:
    """Concatenate ``starts[i] + step * arange(counts[i])`` over i (int64)."""
    counts = counts.astype(np.int64)
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    first_of_run = np.cumsum(counts) - counts
    within = np.arange(total, dtype=np.int64) - np.repeat(first_of_run, counts)
    return np.repeat(starts.astype(np.int64), counts) + step * within


def _code_dtype(k: int) -> type[np.unsignedinteger]:
    """Smallest unsigned dtype holding 4**k + 1 (a sentinel above every k-mer code)."""
    return np.uint16 if 4**k < (1 << 16) else np.uint32


def _window_codes(codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Rolling 2-bit codes of every length-k window of ``codes`` (values 0..3 = base, >3 = not).

    Returns ``(kmer_code, has_non_base)``, both of length ``len(codes) - k + 1``. The code of
    window i is ``sum(codes[i+j] * 4**(k-1-j))``, built by doubling (windows of 1, 2, 4, ...
    bases combined by shift-or), so k = 6 costs three vector passes instead of six.
    """
    n_windows = codes.size - k + 1
    dtype = _code_dtype(k)
    if n_windows <= 0:
        return np.zeros(0, dtype=dtype), np.zeros(0, dtype=bool)
    powers: dict[int, tuple[np.ndarray, np.ndarray]] = {
        1: ((codes & 3).astype(dtype), codes > 3)
    }
    width = 1
    while 2 * width <= k:
        code, bad = powers[width]
        powers[2 * width] = ((code[:-width] << (2 * width)) | code[width:], bad[:-width] | bad[width:])
        width *= 2
    result: tuple[np.ndarray, np.ndarray] | None = None
    covered = 0
    for width in sorted(powers, reverse=True):
        if covered + width > k:
            continue
        code, bad = powers[width]
        if result is None:
            result = (code, bad)
        else:
            size = codes.size - covered - width + 1
            prev_code, prev_bad = result
            result = (
                (prev_code[:size] << (2 * width)) | code[covered : covered + size],
                prev_bad[:size] | bad[covered : covered + size],
            )
        covered += width
    assert result is not None and covered == k
    return result[0][:n_windows], result[1][:n_windows]


def _check_k(k: int) -> None:
    if not 1 <= k <= MAX_K:
        raise ValueError(f"k must be between 1 and {MAX_K}, not {k}")


def _check_max_len(max_len: int, minimum: int = 1) -> None:
    if max_len < minimum:
        raise ValueError(f"max_len must be at least {minimum}, not {max_len}")


def _with_special_tokens(body: np.ndarray, counts: np.ndarray, first: int | None, last: int | None) -> RaggedTokens:
    """Wrap each sequence's ids (``counts[i]`` consecutive values of ``body``) in special tokens."""
    n = counts.size
    extra = (first is not None) + (last is not None)
    lengths = counts.astype(np.int64) + extra
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    values = np.empty(int(offsets[-1]), dtype=np.int32)
    shift = np.repeat(offsets[:-1] - (np.cumsum(counts) - counts) + (first is not None), counts)
    values[np.arange(body.size, dtype=np.int64) + shift] = body
    if first is not None:
        values[offsets[:-1]] = first
    if last is not None:
        values[offsets[1:] - 1] = last
    return RaggedTokens(values, offsets)


# ----------------------------------------------------------------- char


def char_encode(
    sequences: Sequence[SeqLike],
    max_len: int = CHAR_DEFAULT_MAX_LEN,
    truncation: Truncation = "right",
    dtype: Any = np.int32,
) -> np.ndarray:
    """``char`` scheme: one id per base, fixed length.

    Vocabulary A=0, C=1, G=2, T=3, N=4, <PAD>=5. Lower case is upper-cased; every other
    IUPAC code becomes N. Sequences longer than ``max_len`` lose their end
    (``truncation="right"``, default) or their start (``"left"``); shorter ones are padded
    with <PAD> on the right.

    Returns:
        array ``(len(sequences), max_len)`` of ``dtype``.
    """
    _check_max_len(max_len)
    out = np.full((len(sequences), max_len), CHAR_PAD_ID, dtype=dtype)
    for i, sequence in enumerate(sequences):
        kept = sequence[:max_len] if truncation == "right" else sequence[-max_len:]
        ids = CHAR_TABLE[np.frombuffer(_as_bytes(kept), dtype=np.uint8)]
        out[i, : ids.size] = ids
    return out


# ----------------------------------------------------------------- HyenaDNA


def hyenadna_encode(
    sequences: Sequence[SeqLike],
    max_len: int = HYENADNA_DEFAULT_MAX_LEN,
    truncation: Truncation = "right",
    dtype: Any = np.int32,
) -> np.ndarray:
    """``hyenadna`` scheme: HyenaDNA's ``CharacterTokenizer`` with [SEP] appended, left-padded.

    Ids [CLS]=0 [SEP]=1 [BOS]=2 [MASK]=3 [PAD]=4 [RESERVED]=5 [UNK]=6 A=7 C=8 G=9 T=10 N=11;
    lower case is upper-cased, any other IUPAC code is [UNK] (the tokenizer's rule for
    characters outside A,C,G,T,N). As in HyenaDNA's fine-tuning datasets (tokenize with
    ``truncation=True``, whose default side keeps the start, pad on the left, then append
    [SEP] when ``add_eos``), each row is ``[PAD]... bases [SEP]``. ``max_len`` counts every
    token, so at most ``max_len - 1`` bases are kept (HyenaDNA's ``max_length`` + 1 = our
    ``max_len``); ``truncation="left"`` keeps the end instead.

    Returns:
        array ``(len(sequences), max_len)`` of ``dtype``.
    """
    _check_max_len(max_len, minimum=2)
    body_len = max_len - 1
    out = np.full((len(sequences), max_len), HYENADNA_PAD_ID, dtype=dtype)
    out[:, -1] = HYENADNA_SEP_ID
    for i, sequence in enumerate(sequences):
        kept = sequence[:body_len] if truncation == "right" else sequence[-body_len:]
        ids = HYENADNA_TABLE[np.frombuffer(_as_bytes(kept), dtype=np.uint8)]
        out[i, body_len - ids.size : body_len] = ids
    return out


# ----------------------------------------------------------------- DNABERT


def dnabert_encode(sequences: Sequence[SeqLike], k: int = 6) -> RaggedTokens:
    """``dnabert`` scheme: overlapping k-mers (stride 1) with DNABERT's vocabulary.

    Ids [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4, then k-mer ``i`` of
    ``itertools.product("ATCG", repeat=k)`` has id ``5 + i``. A k-mer holding anything other
    than A,T,C,G (after upper-casing) is [UNK]. Each sequence becomes
    ``[CLS] kmer_1 ... kmer_{L-k+1} [SEP]`` (just ``[CLS] [SEP]`` when L < k).
    """
    if k not in DNABERT_KS:
        raise ValueError(f"DNABERT k must be one of {DNABERT_KS}, not {k}")
    buffer, starts, lengths = _concat(sequences)
    codes, non_base = _window_codes(ATCG_CODES[buffer], k)
    counts = np.maximum(lengths - k + 1, 0)
    windows = _ragged_arange(starts, counts)
    body = np.where(non_base[windows], DNABERT_UNK_ID, codes[windows].astype(np.int32) + len(DNABERT_SPECIAL_TOKENS))
    return _with_special_tokens(body.astype(np.int32), counts, DNABERT_CLS_ID, DNABERT_SEP_ID)


# ----------------------------------------------------------------- Nucleotide Transformer

_NT_OTHER, _NT_N, _NT_BREAK = NOT_A_BASE, 5, 6
_NT_TABLE = ATCG_CODES.copy()
_NT_TABLE[[ord("N"), ord("n")]] = _NT_N
_NT_TABLE[ord(_SEPARATOR)] = _NT_BREAK


def nucleotide_transformer_encode(sequences: Sequence[SeqLike], k: int = NT_DEFAULT_K) -> RaggedTokens:
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
    n_kmers = 4**k
    single_base_id = len(NT_SPECIAL_TOKENS) + n_kmers
    n_id = single_base_id + len(NT_ALPHABET)
    buffer, starts, lengths = _concat(sequences)
    codes = _NT_TABLE[buffer]
    size = codes.size
    breaks = np.flatnonzero(codes >= _NT_N)
    piece_start = np.concatenate(([0], breaks + 1))
    piece_length = np.concatenate((breaks, [size])) - piece_start
    kmers_per_piece = piece_length // k
    kmer_at = _ragged_arange(piece_start, kmers_per_piece, step=k)
    singles_at = _ragged_arange(piece_start + kmers_per_piece * k, piece_length - kmers_per_piece * k)
    kind = np.zeros(size, dtype=np.uint8)
    kind[kmer_at] = 1
    kind[singles_at] = 2
    kind[codes == _NT_N] = 3
    token_at = np.flatnonzero(kind)
    token_kind = kind[token_at]
    ids = np.empty(token_at.size, dtype=np.int32)
    # k-mers: gather their k codes (no N or separator can be inside a piece).
    is_kmer = token_kind == 1
    at = token_at[is_kmer]
    code = np.zeros(at.size, dtype=np.int64)
    other = np.zeros(at.size, dtype=bool)
    for j in range(k):
        base = codes[at + j]
        other |= base == _NT_OTHER
        code = code * 4 + (base & 3)
    ids[is_kmer] = np.where(other, NT_UNK_ID, code + len(NT_SPECIAL_TOKENS))
    is_single = token_kind == 2
    base = codes[token_at[is_single]]
    ids[is_single] = np.where(base == _NT_OTHER, NT_UNK_ID, base.astype(np.int32) + single_base_id)
    ids[token_kind == 3] = n_id
    counts = np.searchsorted(token_at, starts + lengths) - np.searchsorted(token_at, starts)
    return _with_special_tokens(ids, counts, NT_CLS_ID, None)


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
    _check_k(k)
    codes = np.arange(4**k, dtype=np.int64)
    return codes[codes <= reverse_complement_codes(codes, k)]


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
    any other letter (N, IUPAC ambiguity codes) is skipped. With ``canonical=True`` a k-mer and
    its reverse complement are counted together, in the column of the canonical one (the
    smaller code); only canonical columns exist, so there are ``4**k/2`` (k odd) or
    ``(4**k + 4**(k/2))/2`` (k even) columns.

    Returns:
        int32 array ``(n_sequences, n_columns)`` for k < 6, CSR (int32) for k >= 6;
        ``sparse`` forces one or the other.
    """
    _check_k(k)
    n_codes = 4**k
    if canonical:
        columns = canonical_kmer_codes(k)
        column_of = np.zeros(n_codes + 1, dtype=np.int64)
        codes_all = np.arange(n_codes, dtype=np.int64)
        canonical_code = np.minimum(codes_all, reverse_complement_codes(codes_all, k))
        column_of[:n_codes] = np.searchsorted(columns, canonical_code)
        n_columns = columns.size
        column_of[n_codes] = n_columns
    else:
        n_columns = n_codes
    if sparse is None:
        sparse = k >= SPARSE_FROM_K
    buffer, starts, lengths = _concat(sequences)
    code, non_base = _window_codes(ACGT_CODES[buffer], k)
    code[non_base] = n_codes  # sentinel bin, dropped below
    if canonical:
        code = column_of[code]
    n = len(lengths)
    counts = np.maximum(lengths - k + 1, 0)
    use_bincount = n_columns <= (1 << 20)
    dense = None if sparse else np.zeros((n, n_columns), dtype=np.int32)
    indptr = np.zeros(n + 1, dtype=np.int64)
    indices: list[np.ndarray] = []
    data: list[np.ndarray] = []
    for i in range(n):
        window = code[starts[i] : starts[i] + counts[i]]
        if use_bincount:
            row = np.bincount(window, minlength=n_columns + 1)[:n_columns]
            if dense is not None:
                dense[i] = row
                continue
            nonzero = np.flatnonzero(row)
            indices.append(nonzero)
            data.append(row[nonzero])
        else:
            present, how_many = np.unique(window, return_counts=True)
            keep = present < n_columns
            if dense is not None:
                dense[i, present[keep]] = how_many[keep]
                continue
            indices.append(present[keep])
            data.append(how_many[keep])
        indptr[i + 1] = indptr[i] + indices[-1].size
    if dense is not None:
        return dense
    matrix = sp.csr_matrix(
        (
            np.concatenate(data).astype(np.int32) if data else np.zeros(0, np.int32),
            np.concatenate(indices).astype(np.int32) if indices else np.zeros(0, np.int32),
            indptr,
        ),
        shape=(n, n_columns),
    )
    return matrix


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


@dataclass(frozen=True)
class TokenScheme:
    """A named tokenization scheme: how to encode a batch and what its ids mean."""

    name: str
    output: Literal["fixed", "variable", "counts"]
    encode: Callable[..., Any]
    vocabulary: Callable[..., list[str]]
    """Id -> token list; takes the same k as ``encode`` where there is one."""
    defaults: dict[str, Any] = field(default_factory=dict)


SCHEMES: dict[str, TokenScheme] = {
    scheme.name: scheme
    for scheme in (
        TokenScheme("char", "fixed", char_encode, lambda **_: char_vocab(),
                    {"max_len": CHAR_DEFAULT_MAX_LEN, "truncation": "right"}),
        TokenScheme("hyenadna", "fixed", hyenadna_encode, lambda **_: hyenadna_vocab(),
                    {"max_len": HYENADNA_DEFAULT_MAX_LEN, "truncation": "right"}),
        TokenScheme("dnabert", "variable", dnabert_encode, lambda k=6, **_: dnabert_vocab(k), {"k": 6}),
        TokenScheme("nucleotide_transformer", "variable", nucleotide_transformer_encode,
                    lambda k=NT_DEFAULT_K, **_: nucleotide_transformer_vocab(k), {"k": NT_DEFAULT_K}),
        TokenScheme("kmer_counts", "counts", kmer_counts,
                    lambda k=3, canonical=False, **_: kmer_names(k, canonical), {"k": 3, "canonical": False}),
    )
}


def get_scheme(name: str) -> TokenScheme:
    """Return the scheme called ``name``; ValueError lists the known names otherwise."""
    try:
        return SCHEMES[name]
    except KeyError:
        raise ValueError(f"unknown DNA tokenization scheme {name!r}; known: {', '.join(SCHEMES)}") from None


def encode(name: str, sequences: Sequence[SeqLike], **params: Any) -> Any:
    """Encode a batch with the scheme called ``name`` (its defaults overridden by ``params``)."""
    scheme = get_scheme(name)
    return scheme.encode(sequences, **{**scheme.defaults, **params})
