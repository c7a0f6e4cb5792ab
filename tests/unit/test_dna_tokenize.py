"""Tokenizers: hand-worked cases against the published rules, references and properties."""

from __future__ import annotations

import re
from collections import Counter
from itertools import product

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genoprep.dna.alphabet import (
    char_vocab,
    dnabert_vocab,
    hyenadna_vocab,
    nucleotide_transformer_vocab,
)
from genoprep.dna.tokenize import (
    SCHEMES,
    canonical_kmer_codes,
    char_encode,
    dnabert_encode,
    get_scheme,
    hyenadna_encode,
    kmer_counts,
    kmer_names,
    kmer_text,
    kmer_tokenize,
    nucleotide_transformer_encode,
    scheme_pattern,
)

# ------------------------------------------------------------------ independent vocabularies
# Written here from the published sources, not from genoprep's tables, so that the property
# tests below can see a vocabulary-order bug: DNABERT's bert-config-k/vocab.txt (5 specials,
# then k-mers in itertools.product("ATCG") order), InstaDeep's NucleotidesKmersTokenizer (6
# specials, k-mers in product("ATCG") order, the single A, T, C, G, then N), HyenaDNA's
# CharacterTokenizer(characters=["A", "C", "G", "T", "N"]) (7 specials first), and this
# project's char scheme and k-mer count columns as documented (A C G T N <PAD>; product("ACGT")).


def ref_words(letters: str, k: int) -> list[str]:
    return ["".join(p) for p in product(letters, repeat=k)]


REF_CHAR = ["A", "C", "G", "T", "N", "<PAD>"]
REF_HYENADNA = ["[CLS]", "[SEP]", "[BOS]", "[MASK]", "[PAD]", "[RESERVED]", "[UNK]", "A", "C", "G", "T", "N"]


def ref_dnabert(k: int) -> list[str]:
    return ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *ref_words("ATCG", k)]


def ref_nt(k: int) -> list[str]:
    return ["<unk>", "<pad>", "<mask>", "<cls>", "<eos>", "<bos>", *ref_words("ATCG", k), "A", "T", "C", "G", "N"]


def ref_kmer_columns(k: int, canonical: bool) -> list[str]:
    words = ref_words("ACGT", k)
    if not canonical:
        return words
    flip = str.maketrans("ACGT", "TGCA")
    return [w for w in words if w <= w.translate(flip)[::-1]]


def ref_decode(ids, vocabulary: list[str]) -> list[str]:
    return [vocabulary[int(i)] for i in ids]


def test_genoprep_vocabularies_equal_the_published_ones() -> None:
    assert char_vocab() == REF_CHAR and hyenadna_vocab() == REF_HYENADNA
    for k in (3, 4, 5, 6):
        assert dnabert_vocab(k) == ref_dnabert(k)
    for k in (1, 2, 6):
        assert nucleotide_transformer_vocab(k) == ref_nt(k)
    for k, canonical in product((1, 2, 3, 4), (False, True)):
        assert kmer_names(k, canonical) == ref_kmer_columns(k, canonical)


# ------------------------------------------------------------------ char


def test_char_hand_case() -> None:
    # a c g T -> 0 1 2 3 (lower case upper-cased); N -> 4; R, Y (IUPAC) -> N = 4; pad 5.
    assert char_encode(["acgTNRY"], max_len=9).tolist() == [[0, 1, 2, 3, 4, 4, 4, 5, 5]]


def test_char_truncation_sides() -> None:
    # "ACGTTG" into 4: right truncation keeps ACGT, left keeps GTTG.
    assert char_encode(["ACGTTG"], max_len=4).tolist() == [[0, 1, 2, 3]]
    assert char_encode(["ACGTTG"], max_len=4, truncation="left").tolist() == [[2, 3, 3, 2]]


def test_char_batch_shape_and_default() -> None:
    out = char_encode(["A", "C" * 600])
    assert out.shape == (2, 512)
    assert out[0, 0] == 0 and (out[0, 1:] == 5).all() and (out[1] == 1).all()


# ------------------------------------------------------------------ DNABERT


def test_dnabert_vocab_matches_published_file_order() -> None:
    vocab = dnabert_vocab(6)
    # First and boundary lines of DNABERT's bert-config-6/vocab.txt, read by hand.
    assert vocab[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert vocab[5:10] == ["AAAAAA", "AAAAAT", "AAAAAC", "AAAAAG", "AAAATA"]
    assert vocab[1028:1030] == ["AGGGGG", "TAAAAA"]
    assert len(vocab) == 5 + 4**6 and vocab[-1] == "GGGGGG"
    assert len(dnabert_vocab(3)) == 69


def test_dnabert_hand_case_k3() -> None:
    # Windows of ACGTNAC: ACG CGT GTN TNA NAC. ATCG order: A=0 T=1 C=2 G=3.
    # ACG = 0*16 + 2*4 + 3 = 11 -> 16; CGT = 2*16 + 3*4 + 1 = 45 -> 50; the three with N -> [UNK]=1.
    assert dnabert_encode(["ACGTNAC"], k=3)[0].tolist() == [2, 16, 50, 1, 1, 1, 3]
    # Lower case is upper-cased; shorter than k -> [CLS] [SEP].
    assert dnabert_encode(["acg", "AC"], k=3).to_list()[0].tolist() == [2, 16, 3]
    assert dnabert_encode(["acg", "AC"], k=3)[1].tolist() == [2, 3]


def test_dnabert_rejects_unpublished_k() -> None:
    with pytest.raises(ValueError, match="DNABERT k"):
        dnabert_encode(["ACGT"], k=7)


# ------------------------------------------------------------------ Nucleotide Transformer


def test_nt_published_example_k5() -> None:
    # nucleotide_transformer/tokenizers.py docstring: ATCGAATNGGCGATGCAC -> ATCGA A T N GGCGA TGCAC
    tokens = nucleotide_transformer_encode(["ATCGAATNGGCGATGCAC"], k=5)[0]
    assert ref_decode(tokens, ref_nt(5)) == ["<cls>", "ATCGA", "A", "T", "N", "GGCGA", "TGCAC"]
    # ... and ATCGAATGGCGATGCAC -> ATCGA ATGGC GATGC A C
    tokens = nucleotide_transformer_encode(["ATCGAATGGCGATGCAC"], k=5)[0]
    assert ref_decode(tokens, ref_nt(5)) == ["<cls>", "ATCGA", "ATGGC", "GATGC", "A", "C"]


def test_nt_v2_ids_hand_case() -> None:
    vocab = nucleotide_transformer_vocab(6)
    assert len(vocab) == 4107
    assert vocab[:6] == ["<unk>", "<pad>", "<mask>", "<cls>", "<eos>", "<bos>"]
    assert vocab[6] == "AAAAAA" and vocab[4101] == "GGGGGG"
    assert vocab[4102:4107] == ["A", "T", "C", "G", "N"]
    # AAAAAAAC: AAAAAA (6), leftover A (4102), C (4104), after <cls> (3).
    # NNTTTTTT: N N (4106 each), TTTTTT = 1*(4**5+4**4+4**3+4**2+4+1) = 1365 -> 1371.
    got = nucleotide_transformer_encode(["AAAAAAAC", "NNTTTTTT", "ACGT"]).to_list()
    assert [g.tolist() for g in got] == [[3, 6, 4102, 4104], [3, 4106, 4106, 1371], [3, 4102, 4104, 4105, 4103]]


def test_nt_other_iupac_is_unk_like_instadeep() -> None:
    # ARCGATT, k=6: chunk ARCGAT is not in the vocabulary -> <unk>; leftover T -> 4103.
    # R as a leftover single letter -> <unk>. Lower case is upper-cased.
    got = nucleotide_transformer_encode(["ARCGATT", "aaaaaaR"]).to_list()
    assert [g.tolist() for g in got] == [[3, 0, 4103], [3, 6, 0]]


def nt_reference(sequence: str, k: int) -> list[str]:
    """The published NT rule written out plainly (split at N, k-mers from the left, singles)."""
    tokens = ["<cls>"]
    pieces = sequence.upper().split("N")
    for i, piece in enumerate(pieces):
        full = len(piece) // k * k
        tokens += [piece[j : j + k] for j in range(0, full, k)]
        tokens += list(piece[full:])
        if i < len(pieces) - 1:
            tokens.append("N")
    vocab = set(ref_nt(k))
    return [t if t in vocab else "<unk>" for t in tokens]


dna = st.text(alphabet="ACGTNacgtnRY", max_size=60)


@settings(max_examples=200, deadline=None)
@given(st.lists(dna, min_size=1, max_size=5), st.integers(min_value=1, max_value=6))
def test_nt_matches_reference(sequences: list[str], k: int) -> None:
    vocab = ref_nt(k)
    got = nucleotide_transformer_encode(sequences, k=k)
    assert len(got) == len(sequences)
    for sequence, ids in zip(sequences, got.to_list()):
        assert ref_decode(ids, vocab) == nt_reference(sequence, k)
        assert ids.min() >= 0 and ids.max() < len(vocab)


# ------------------------------------------------------------------ HyenaDNA


def test_hyenadna_hand_case() -> None:
    # acgtn -> A C G T N = 7 8 9 10 11; [SEP]=1 appended; left padding [PAD]=4 to 8.
    assert hyenadna_encode(["acgtn"], max_len=8).tolist() == [[4, 4, 7, 8, 9, 10, 11, 1]]
    # R, Y are outside A,C,G,T,N -> [UNK]=6. max_len 4 keeps 3 bases: ACG (right) or TRY (left).
    assert hyenadna_encode(["ACGTRY"], max_len=4).tolist() == [[7, 8, 9, 1]]
    assert hyenadna_encode(["ACGTRY"], max_len=4, truncation="left").tolist() == [[10, 6, 6, 1]]
    assert hyenadna_vocab()[7:12] == ["A", "C", "G", "T", "N"]


# ------------------------------------------------------------------ k-mer counts


def test_kmer_names_order() -> None:
    assert kmer_names(2) == [
        "AA",
        "AC",
        "AG",
        "AT",
        "CA",
        "CC",
        "CG",
        "CT",
        "GA",
        "GC",
        "GG",
        "GT",
        "TA",
        "TC",
        "TG",
        "TT",
    ]
    assert kmer_names(3)[:5] == ["AAA", "AAC", "AAG", "AAT", "ACA"]


def test_kmer_counts_hand_case() -> None:
    # ACGTA: AC CG GT TA -> columns 1, 6, 11, 12. AANAA: AA twice (AN, NA skipped). acgt = ACGT.
    counts = kmer_counts(["ACGTA", "AANAA", "acgt"], k=2)
    assert isinstance(counts, np.ndarray) and counts.shape == (3, 16)
    assert np.flatnonzero(counts[0]).tolist() == [1, 6, 11, 12] and counts[0].sum() == 4
    assert counts[1].tolist() == [2] + [0] * 15
    assert counts[2].tolist() == kmer_counts(["ACGT"], k=2)[0].tolist()


def test_kmer_counts_canonical_hand_case() -> None:
    # k=2 canonical columns: AA AC AG AT CA CC CG GA GC TA ((16 + 4) / 2 = 10).
    assert kmer_names(2, canonical=True) == ["AA", "AC", "AG", "AT", "CA", "CC", "CG", "GA", "GC", "TA"]
    # ACGTA: AC; CG (palindrome); GT = revcomp(AC) -> AC; TA (palindrome). TTT: TT -> AA twice.
    counts = kmer_counts(["ACGTA", "TTT"], k=2, canonical=True)
    names = kmer_names(2, canonical=True)
    assert dict(zip(names, counts[0].tolist())) == {**dict.fromkeys(names, 0), "AC": 2, "CG": 1, "TA": 1}
    assert counts[1].tolist() == [2] + [0] * 9
    assert len(kmer_names(3, canonical=True)) == 32 and len(kmer_names(4, canonical=True)) == 136


def test_kmer_counts_sparse_from_k6() -> None:
    counts = kmer_counts(["AAAAAAA", "ACGTNACGTACG"], k=6)
    assert counts.shape == (2, 4096) and counts.format == "csr"
    # AAAAAAA: AAAAAA twice (column 0). Second: only windows without N: ACGTAC CGTACG.
    assert counts[0].toarray().ravel()[0] == 2 and counts[0].sum() == 2
    columns = {name: i for i, name in enumerate(kmer_names(6))}
    assert sorted(counts[1].indices.tolist()) == sorted([columns["ACGTAC"], columns["CGTACG"]])


def counter_reference(sequence: str, k: int, canonical: bool) -> Counter[str]:
    sequence = sequence.upper()
    words = Counter(sequence[i : i + k] for i in range(len(sequence) - k + 1))
    words = Counter({w: n for w, n in words.items() if re.fullmatch("[ACGT]+", w)})
    if not canonical:
        return words
    flip = str.maketrans("ACGT", "TGCA")
    merged: Counter[str] = Counter()
    for word, n in words.items():
        merged[min(word, word.translate(flip)[::-1])] += n  # lexicographic min == smaller code
    return merged


@settings(max_examples=150, deadline=None)
@given(st.lists(dna, min_size=1, max_size=4), st.integers(min_value=1, max_value=7), st.booleans())
def test_kmer_counts_match_counter(sequences: list[str], k: int, canonical: bool) -> None:
    counts = kmer_counts(sequences, k=k, canonical=canonical)
    dense = counts.toarray() if hasattr(counts, "toarray") else counts
    names = ref_kmer_columns(k, canonical)
    for row, sequence in zip(dense, sequences):
        expected = counter_reference(sequence, k, canonical)
        assert {n: int(c) for n, c in zip(names, row) if c} == dict(expected)
        # the vector sums to the number of windows made of A/C/G/T only
        valid = sum(bool(re.fullmatch("[ACGT]+", sequence.upper()[i : i + k])) for i in range(len(sequence) - k + 1))
        assert row.sum() == valid


# ------------------------------------------------------------------ k-mer strings


def test_kmer_tokenize_spec() -> None:
    assert kmer_tokenize("ACGTA", 3) == ["ACG", "CGT", "GTA"]
    assert kmer_tokenize("ACGTACG", 3, stride=3) == ["ACG", "TAC"]
    assert kmer_tokenize("AC", 3) == []
    assert kmer_text("ACGTA", 3) == "ACG CGT GTA"


# ------------------------------------------------------------------ properties across schemes

bases = st.text(alphabet="ACGTacgt", max_size=80)


@settings(max_examples=200, deadline=None)
@given(st.lists(bases, min_size=1, max_size=6), st.integers(min_value=1, max_value=100))
def test_char_round_trip(sequences: list[str], max_len: int) -> None:
    out = char_encode(sequences, max_len=max_len)
    assert out.shape == (len(sequences), max_len) and out.min() >= 0 and out.max() <= 5
    for row, sequence in zip(out, sequences):
        text = "".join(t for t in ref_decode(row, REF_CHAR) if t != "<PAD>")
        assert text == sequence.upper()[:max_len]


@settings(max_examples=200, deadline=None)
@given(st.lists(dna, min_size=1, max_size=6), st.sampled_from([3, 4, 5, 6]))
def test_dnabert_lengths_ids_and_kmers(sequences: list[str], k: int) -> None:
    got = dnabert_encode(sequences, k=k)
    vocab = ref_dnabert(k)
    for ids, sequence in zip(got.to_list(), sequences):
        assert ids.size == max(len(sequence) - k + 1, 0) + 2
        assert ids.min() >= 0 and ids.max() < 5 + 4**k
        expected = [w if re.fullmatch("[ACGT]+", w) else "[UNK]" for w in kmer_tokenize(sequence.upper(), k)]
        assert ref_decode(ids, vocab) == ["[CLS]", *expected, "[SEP]"]


@settings(max_examples=200, deadline=None)
@given(st.lists(dna, min_size=1, max_size=6), st.integers(min_value=2, max_value=50))
def test_hyenadna_shape_and_content(sequences: list[str], max_len: int) -> None:
    out = hyenadna_encode(sequences, max_len=max_len)
    assert out.shape == (len(sequences), max_len) and out.min() >= 0 and out.max() <= 11
    for row, sequence in zip(out, sequences):
        tokens = ref_decode(row, REF_HYENADNA)
        assert tokens[-1] == "[SEP]"
        body = [t for t in tokens[:-1] if t != "[PAD]"]
        kept = sequence.upper()[: max_len - 1]
        assert body == [c if c in "ACGTN" else "[UNK]" for c in kept]
        assert tokens[: max_len - 1 - len(kept)] == ["[PAD]"] * (max_len - 1 - len(kept))


# ------------------------------------------------------------------ registry


def test_registry() -> None:
    assert list(SCHEMES) == ["char", "kmer_counts", "dnabert", "nucleotide_transformer", "hyenadna", "kmer_tokenize"]
    assert get_scheme("char").kind == "fixed" and get_scheme("dnabert").kind == "variable"
    assert get_scheme("char").encode(["AC"], max_len=3).tolist() == [[0, 1, 5]]
    assert len(get_scheme("nucleotide_transformer").vocabulary(k=6)) == 4107
    assert get_scheme("kmer_counts").vocabulary(k=2, canonical=False) == ["".join(p) for p in product("ACGT", repeat=2)]
    assert get_scheme("kmer_tokenize").encode(["acgta"], k=3, stride=2) == ["ACG GTA"]
    # what the rules and the completed card take from the registry
    assert scheme_pattern("fixed") == "char|hyenadna" and scheme_pattern("variable") == "dnabert|nucleotide_transformer"
    assert (
        get_scheme("hyenadna").usable_length({"max_len": 10}) == 9
        and get_scheme("char").usable_length({"max_len": 10}) == 10
    )
    assert get_scheme("kmer_counts").artifacts({"k": 5, "canonical": True}) == ("kmers_k5.npz", "kmers_k5.tsv")
    assert get_scheme("dnabert").describe({"k": 4}).startswith("DNABERT overlapping 4-mers")
    with pytest.raises(ValueError, match="known: char"):
        get_scheme("bpe")


def test_card_schema_lists_exactly_the_registered_schemes() -> None:
    import yaml

    from genoprep.cards import SCHEMA_DIR

    schema = yaml.safe_load((SCHEMA_DIR / "modality" / "dna.schema.yaml").read_text(encoding="utf-8"))
    params = schema["properties"]["params"]["properties"]
    assert params["tokenizers"]["items"]["enum"] == list(SCHEMES)
    assert all(name in params for name in SCHEMES)  # each scheme's settings object


@pytest.mark.parametrize("canonical", [False, True])
def test_kmer_counts_large_k_unique_path(canonical: bool) -> None:
    # k = 11 (4**11 > 2**20 columns) takes the np.unique path; check it against Counter.
    rng = np.random.default_rng(3)
    sequences = ["".join(rng.choice(list("ACGTN"), size=n, p=[0.3, 0.2, 0.2, 0.28, 0.02])) for n in (0, 5, 300, 2000)]
    sequences.append("ACGTACGTACGTACGTAAAA" * 3)  # repeated k-mers
    counts = kmer_counts(sequences, k=11, canonical=canonical)
    code_of_column = canonical_kmer_codes(11) if canonical else np.arange(4**11)

    def name(column: int) -> str:  # base-4 digits of the code, A=0 C=1 G=2 T=3
        code = int(code_of_column[column])
        return "".join("ACGT"[(code >> (2 * (10 - i))) & 3] for i in range(11))

    for i, sequence in enumerate(sequences):
        row = counts.getrow(i)
        got = {name(j): int(c) for j, c in zip(row.indices, row.data)}
        assert got == dict(counter_reference(sequence, 11, canonical))


def test_kmer_counts_long_sequences_cut_into_blocks() -> None:
    # Longer than one block (2**18 bases): pieces overlap by k-1, so no window is lost or
    # counted twice, including windows with N at the piece joins.
    rng = np.random.default_rng(5)
    long = rng.choice(list("ACGT"), size=(1 << 18) * 2 + 123)
    long[(1 << 18) - 2 : (1 << 18) + 3] = "N"  # N around the first join
    sequences = ["AC", "".join(long), "GATTACA", "", "".join(rng.choice(list("ACGTN"), size=70_000))]
    counts = kmer_counts(sequences, k=6)
    names = ref_kmer_columns(6, False)
    for i, sequence in enumerate(sequences):
        row = counts.getrow(i)
        assert {names[j]: int(c) for j, c in zip(row.indices, row.data)} == dict(counter_reference(sequence, 6, False))


@pytest.mark.parametrize("canonical", [False, True])
def test_kmer_counts_long_path_many_and_few_non_bases(canonical: bool) -> None:
    # Sequences >= 16 kb are counted one by one (translate once, views, non-bases by memchr or,
    # past 64 of them, by numpy): few sprinkled codes, an N run, lower case and a run at the end.
    rng = np.random.default_rng(11)
    few = rng.choice(list("ACGTacgt"), size=40_000)
    few[rng.integers(0, few.size, size=20)] = "R"
    many = rng.choice(list("ACGT"), size=30_000)
    many[1_000:4_000] = "N"
    many[-3:] = "n"
    sequences = ["".join(few), "ACGTT", "".join(many)]
    counts = kmer_counts(sequences, k=6, canonical=canonical)
    names = ref_kmer_columns(6, canonical)
    for i, sequence in enumerate(sequences):
        row = counts.getrow(i)
        assert {names[j]: int(c) for j, c in zip(row.indices, row.data)} == dict(
            counter_reference(sequence, 6, canonical)
        )


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(-50, 50), st.integers(0, 6)), max_size=8),
    st.integers(1, 7),
)
def test_ragged_arange_matches_plain_concatenation(runs: list[tuple[int, int]], step: int) -> None:
    from genoprep.dna.tokenize import _ragged_arange

    starts = np.array([s for s, _ in runs], dtype=np.int64)
    counts = np.array([c for _, c in runs], dtype=np.int64)
    expected = [start + step * i for start, count in runs for i in range(count)]
    assert _ragged_arange(starts, counts, step).tolist() == expected


_MIXED = st.text(alphabet="ACGTACGTACGTacgtNnRYk", min_size=0, max_size=50)


@settings(max_examples=150, deadline=None)
@given(st.lists(_MIXED, min_size=1, max_size=6), st.sampled_from([3, 4, 5, 6]), st.integers(1, 6))
def test_compiled_variable_length_tokenizers_equal_the_numpy_ones(sequences: list[str], k: int, nt_k: int) -> None:
    """The numba kernels (genoprep.dna.kernels) against the vectorised numpy versions, which the
    hand-worked cases above and the published-tokenizer references pin down."""
    from genoprep.dna.tokenize import dnabert_encode_numpy, nucleotide_transformer_encode_numpy

    sequences = [s for s in sequences if s] or ["A"]
    for compiled, plain in (
        (dnabert_encode(sequences, k=k), dnabert_encode_numpy(sequences, k=k)),
        (nucleotide_transformer_encode(sequences, k=nt_k), nucleotide_transformer_encode_numpy(sequences, k=nt_k)),
    ):
        assert compiled.offsets.tolist() == plain.offsets.tolist()
        assert compiled.values.tolist() == plain.values.tolist()
