"""Alphabets, vocabularies and byte lookup tables for DNA: the data every DNA function shares.

Everything a tokenizer needs to know about letters lives here, as constants:

* ``IUPAC_NUCLEOTIDES`` — the letters a sequence may contain (either case). They are the
  IUPAC-IUB nucleotide codes ``A C G T U R Y S W K M B D H V N``. Gap and padding
  characters (``-``, ``.``, ``*``) are **not** accepted: they mark alignments, not sequences,
  and every tokenizer would have to invent a meaning for them. Ungap an alignment first.
* Soft-masked (lower-case) bases are upper-cased by every scheme before tokenizing: the
  published vocabularies are upper case only, so without this a lower-case ``a`` would
  become ``[UNK]`` in DNABERT, NT and HyenaDNA.
* ``U`` is accepted (it is an IUPAC code) but, like every ambiguity code, it is not one of
  the four bases: it counts as "non-ACGT" in QC and becomes ``N``/``[UNK]`` in tokens.

Lookup tables are 256-entry ``uint8`` arrays indexed by a byte; applying one to
``np.frombuffer(sequence_bytes, np.uint8)`` encodes a whole sequence in one numpy call.
"""

from __future__ import annotations

from itertools import product

import numpy as np

#: IUPAC nucleotide codes accepted in input (upper case; lower case is accepted too).
IUPAC_NUCLEOTIDES = "ACGTURYSWKMBDHVN"
#: The four unambiguous bases.
BASES = "ACGT"
#: Byte string of every accepted input letter, both cases (used with ``bytes.translate``).
IUPAC_BYTES = (IUPAC_NUCLEOTIDES + IUPAC_NUCLEOTIDES.lower()).encode("ascii")

#: Code given by the 2-bit tables to anything that is not one of the four bases.
NOT_A_BASE = 4

# ---------------------------------------------------------------- char scheme
#: ``char`` vocabulary: token -> id.
CHAR_VOCAB: dict[str, int] = {"A": 0, "C": 1, "G": 2, "T": 3, "N": 4, "<PAD>": 5}
CHAR_PAD_ID = CHAR_VOCAB["<PAD>"]
CHAR_N_ID = CHAR_VOCAB["N"]

# ---------------------------------------------------------------- DNABERT
#: DNABERT special tokens, ids 0..4 (vocab.txt of jerryji1993/DNABERT bert-config-k).
DNABERT_SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
DNABERT_PAD_ID, DNABERT_UNK_ID, DNABERT_CLS_ID, DNABERT_SEP_ID, DNABERT_MASK_ID = range(5)
#: DNABERT orders its k-mers as ``itertools.product("ATCG", repeat=k)``.
DNABERT_KMER_ALPHABET = "ATCG"
DNABERT_KS = (3, 4, 5, 6)

# ---------------------------------------------------------------- Nucleotide Transformer
#: NT (v2, Hugging Face vocab) special tokens, ids 0..5.
NT_SPECIAL_TOKENS = ("<unk>", "<pad>", "<mask>", "<cls>", "<eos>", "<bos>")
NT_UNK_ID, NT_PAD_ID, NT_MASK_ID, NT_CLS_ID, NT_EOS_ID, NT_BOS_ID = range(6)
#: NT orders k-mers and single nucleotides as ``product("ATCG")``, then ``N``.
NT_ALPHABET = "ATCG"
NT_DEFAULT_K = 6

# ---------------------------------------------------------------- HyenaDNA
#: HyenaDNA ``CharacterTokenizer(characters=["A","C","G","T","N"])`` vocabulary, id order.
HYENADNA_VOCAB: dict[str, int] = {
    "[CLS]": 0,
    "[SEP]": 1,
    "[BOS]": 2,
    "[MASK]": 3,
    "[PAD]": 4,
    "[RESERVED]": 5,
    "[UNK]": 6,
    "A": 7,
    "C": 8,
    "G": 9,
    "T": 10,
    "N": 11,
}
HYENADNA_SEP_ID = HYENADNA_VOCAB["[SEP]"]
HYENADNA_PAD_ID = HYENADNA_VOCAB["[PAD]"]
HYENADNA_UNK_ID = HYENADNA_VOCAB["[UNK]"]

#: Default fixed lengths (tokens per sequence, special tokens included).
CHAR_DEFAULT_MAX_LEN = 512
HYENADNA_DEFAULT_MAX_LEN = 1024  # context of the smallest checkpoint, hyenadna-tiny-1k

#: Largest k for k-mer codes (4**15 < 2**31 keeps column indices in int32).
MAX_K = 15


def _table(mapping: dict[str, int], default: int) -> np.ndarray:
    """Return a 256-entry uint8 table: byte of each key (both cases) -> value, else default."""
    table = np.full(256, default, dtype=np.uint8)
    for letter, value in mapping.items():
        table[ord(letter.upper())] = value
        table[ord(letter.lower())] = value
    return table


#: A,C,G,T -> 0..3 (lexicographic 2-bit codes); anything else -> 4.
ACGT_CODES = _table({b: i for i, b in enumerate(BASES)}, NOT_A_BASE)
#: A,T,C,G -> 0..3 (DNABERT / NT product order); anything else -> 4.
ATCG_CODES = _table({b: i for i, b in enumerate(DNABERT_KMER_ALPHABET)}, NOT_A_BASE)
#: ``char`` scheme ids: A,C,G,T -> 0..3, every other byte -> N (4).
CHAR_TABLE = _table({b: CHAR_VOCAB[b] for b in BASES}, CHAR_N_ID)
#: HyenaDNA ids: A,C,G,T,N -> 7..11, every other byte -> [UNK] (6).
HYENADNA_TABLE = _table({b: HYENADNA_VOCAB[b] for b in "ACGTN"}, HYENADNA_UNK_ID)
#: QC classes: 0 = A/T, 1 = G/C, 2 = anything else.
GC_CLASS = _table({"A": 0, "T": 0, "G": 1, "C": 1}, 2)


def kmer_strings(k: int, alphabet: str) -> list[str]:
    """Return all ``len(alphabet)**k`` k-mers in ``itertools.product(alphabet, repeat=k)`` order."""
    return ["".join(p) for p in product(alphabet, repeat=k)]


def dnabert_vocab(k: int) -> list[str]:
    """Return the DNABERT vocabulary for k (index = token id): 5 specials then ATCG k-mers."""
    if k not in DNABERT_KS:
        raise ValueError(f"DNABERT k must be one of {DNABERT_KS}, not {k}")
    return list(DNABERT_SPECIAL_TOKENS) + kmer_strings(k, DNABERT_KMER_ALPHABET)


def nucleotide_transformer_vocab(k: int = NT_DEFAULT_K) -> list[str]:
    """Return the NT v2 vocabulary (index = token id).

    ``<unk> <pad> <mask> <cls> <eos> <bos>``, the ``4**k`` k-mers in ATCG product order,
    the single nucleotides A, T, C, G, and N: 4107 tokens for k = 6.
    """
    return list(NT_SPECIAL_TOKENS) + kmer_strings(k, NT_ALPHABET) + list(NT_ALPHABET) + ["N"]


def hyenadna_vocab() -> list[str]:
    """Return the HyenaDNA vocabulary as a list (index = token id)."""
    return sorted(HYENADNA_VOCAB, key=HYENADNA_VOCAB.__getitem__)


def char_vocab() -> list[str]:
    """Return the ``char`` vocabulary as a list (index = token id)."""
    return sorted(CHAR_VOCAB, key=CHAR_VOCAB.__getitem__)
