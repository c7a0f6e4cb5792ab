"""Killer tests for mutants of genoprep/dna (issue 16): independent facts about its public functions.

Hand-worked cases and plain re-implementations written here: the sequence filters exactly at
their thresholds, plain-text and table reading (exact one-line errors: file, record, problem),
the char ids, the scheme registry. No workflow runs.
"""

from __future__ import annotations

import json
import platform
from fractions import Fraction
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from genoprep.cards import load_card
from genoprep.dna.artifacts import write_fixed_tokens, write_kmer_names, write_kmer_text, write_parquet
from genoprep.dna.io import (
    DnaRecord,
    SequenceFilter,
    batched,
    input_format,
    label_from_header,
    read_sequence_table,
    read_text_sequences,
)
from genoprep.dna.options import SchemeOptions
from genoprep.dna.qc import dataset_qc
from genoprep.dna.steps import kmer_text, tokens_fixed
from genoprep.dna.tokenize import SCHEMES, char_ids, decode, scheme_pattern
from genoprep.errors import InputError


def _card(tmp_path: Path, input_: dict, params: dict, **sections) -> dict:
    """A DNA card (dataset `d`) written to tmp_path/card.yaml and loaded (schema defaults filled in)."""
    body = {"dataset_id": "d", "name": "d", "modality": "dna", "input": input_, **sections, "params": params}
    (tmp_path / "card.yaml").write_text(yaml.safe_dump(body), encoding="utf-8")
    return load_card(tmp_path / "card.yaml").data


# --- the sequence filters ---------------------------------------------------------------------


def _keeps_reference(sequence: str, min_length: int, max_n_fraction: float) -> bool:
    """length >= min_length and (non-ACGT letters) / length <= the decimal max_n_fraction, exactly."""
    other = sum(1 for c in sequence if c not in "ACGTacgt")
    return len(sequence) >= min_length and Fraction(other, len(sequence)) <= Fraction(str(max_n_fraction))


@pytest.mark.parametrize(
    ("sequence", "min_length", "max_n_fraction", "kept"),
    [
        ("ACGTACGTAN", 10, 0.1, True),  # 1 of 10 = 0.1 exactly: kept (inclusive)
        ("ACGTACGTNN", 10, 0.1, False),  # 2 of 10
        ("ACGTACGTA", 10, 1.0, False),  # 9 < 10 bases
        ("ACGTACGTAC", 10, 1.0, True),  # exactly min_length
        ("NNNNNNNNNN", 1, 1.0, True),  # max_n_fraction 1 keeps everything long enough
        ("nnnnnnnnnr", 1, 0.99, False),  # lower case and IUPAC codes count as not ACGT
        ("acgtRYacgt", 1, 0.2, True),  # 2 of 10 = 0.2 exactly
        ("acgtRYacgt", 1, 0.19, False),
        ("ACG", 3, 0.0, True),  # no N at all with max 0
        ("ACN", 3, 0.0, False),
        ("ACGTACGTACGTACGTACGTACGTACGTAN", 1, 0.0333333333, False),  # 1/30 > 0.0333333333
        ("ACGTACGTACGTACGTACGTACGTACGTAN", 1, 0.0333333334, True),
        ("ACGN", 1, 0.25, True),
        ("ACGN", 1, 0.24, False),
    ],
)
def test_sequence_filter_by_hand(sequence, min_length, max_n_fraction, kept):
    keep = SequenceFilter(min_length, max_n_fraction)
    assert _keeps_reference(sequence, min_length, max_n_fraction) is kept
    assert keep.keeps(sequence) is kept
    assert keep.keeps(sequence.encode("ascii")) is kept


def test_sequence_filter_active_only_when_it_can_remove():
    assert not SequenceFilter().active
    assert not SequenceFilter(1, 1.0).active
    assert SequenceFilter(2, 1.0).active
    assert SequenceFilter(1, 0.99).active
    assert SequenceFilter(1, 0.0).active


def test_sequence_filter_pieces_at_their_boundaries():
    keep = SequenceFilter(5, 0.1)
    assert keep.passes_length(5) and not keep.passes_length(4) and keep.passes_length(6)
    assert keep.passes_n(1, 10) and not keep.passes_n(2, 10) and keep.passes_n(0, 1)
    assert keep.passes_n(3, 30) and not keep.passes_n(4, 30)


# --- plain text -----------------------------------------------------------------------------------


def test_read_text_sequences_ids_numbers_and_kmers(tmp_path: Path):
    path = tmp_path / "pos.txt"
    path.write_text("  ACGTN  \nACG CGT GTA\nacgt\nAC CG\n\n\n", encoding="utf-8")
    records = list(read_text_sequences(path))
    assert [(r.number, r.id, r.sequence, r.label) for r in records] == [
        (1, "pos.txt:line1", "ACGTN", None),
        (2, "pos.txt:line2", "ACGTA", None),
        (3, "pos.txt:line3", "acgt", None),
        (4, "pos.txt:line4", "ACG", None),  # two overlapping 2-mers
    ]


@pytest.mark.parametrize(
    ("text", "record", "problem"),
    [
        ("ACGT\n\n\nACGT\n", "line 2", "blank line between sequences (one sequence per line)"),
        ("ACGT\n \nACGT\n", "line 2", "blank line between sequences (one sequence per line)"),
        ("ACGT\nACXT\n", "line 2", "character 'X' at position 3 is not an IUPAC nucleotide code"),
        ("ACGT\nACG GTA\n", "line 2", "k-mer 2 'GTA' does not overlap k-mer 1 'ACG' by 2"),
        ("ACGT\nACG CG\n", "line 2", "k-mer 2 'CG' has length 2, expected 3"),
    ],
)
def test_read_text_sequences_errors_are_exact_lines(tmp_path: Path, text, record, problem):
    path = tmp_path / "s.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        list(read_text_sequences(path))
    error = caught.value
    assert error.source == str(path) and error.record == record
    assert str(error) == f"{path}: {record}: {problem}"


def test_table_whose_first_line_is_a_sequence(tmp_path: Path):
    """The hint names a first line that looks like a sequence: ≥ 10 IUPAC letters, one column."""
    path = tmp_path / "t.txt"
    path.write_text("ACGTACGTAC\nACGT\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        list(read_sequence_table(path))
    assert str(caught.value) == (
        f"{path}: header: no column 'sequence': the first line is a sequence (ACGTACGTAC...), not a header; "
        "for one sequence per line without a header say format: text"
    )
    for first in ("ACGTACGTA", "ACGTACGTAX"):  # 9 letters; a letter that is no IUPAC code
        path.write_text(f"{first}\nACGT\n", encoding="utf-8")
        with pytest.raises(InputError) as caught:
            list(read_sequence_table(path))
        assert str(caught.value) == f"{path}: header: no column 'sequence' (columns: {first})"
    # lower case and IUPAC codes count too, also a line holding every IUPAC letter in both cases
    for first in ("acgtnacgtr", "ACGTURYSWKMBDHVNacgturyswkmbdhvn"):
        path.write_text(f"{first}\nACGT\n", encoding="utf-8")
        with pytest.raises(InputError, match="the first line is a sequence"):
            list(read_sequence_table(path))


# --- tokens -----------------------------------------------------------------------------------


def test_char_ids_by_hand():
    ids = char_ids("ACGTNacgtnRY-")
    assert ids.dtype == np.uint8
    assert ids.tolist() == [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 4, 4, 4]
    assert char_ids(b"TTA").tolist() == [3, 3, 0]


def test_decode_maps_ids_through_the_vocabulary():
    assert decode([2, 0, 1], ["a", "b", "c"]) == ["c", "a", "b"]
    assert decode(np.array([1, 1], dtype=np.int32), ["x", "y"]) == ["y", "y"]


def test_scheme_pattern_lists_the_schemes_of_one_kind():
    assert scheme_pattern("fixed") == "char|hyenadna"
    assert scheme_pattern("variable") == "dnabert|nucleotide_transformer"
    assert scheme_pattern("counts") == "kmer_counts"
    assert scheme_pattern("text") == "kmer_tokenize"
    assert scheme_pattern("nothing") == "(?!)"
    assert sorted(SCHEMES) == sorted(
        ["char", "hyenadna", "dnabert", "nucleotide_transformer", "kmer_counts", "kmer_tokenize"]
    )


# --- writers ---------------------------------------------------------------------------------


def test_kmer_names_tsv_bytes(tmp_path: Path):
    """``column<TAB>kmer`` then one LF-ended row per k-mer in product("ACGT") order (no CR)."""
    path = tmp_path / "kmers_k2.tsv"
    write_kmer_names(path, {"k": 2, "canonical": False})
    kmers = [a + b for a in "ACGT" for b in "ACGT"]
    expected = "column\tkmer\n" + "".join(f"{i}\t{kmer}\n" for i, kmer in enumerate(kmers))
    assert path.read_bytes() == expected.encode("ascii")


def test_kmer_text_tsv_bytes(tmp_path: Path):
    """Rows: sequence (space-joined k-mers, upper-cased), label, id; LF line ends; quoting only when needed."""
    records = [DnaRecord(1, "a b", "acgta", "x"), DnaRecord(2, 'q"1', "ACG", None)]
    path = tmp_path / "tokens_kmer_tokenize.tsv"
    assert write_kmer_text(records, path, {"k": 3, "stride": 1}) == 2
    assert path.read_bytes() == b'sequence\tlabel\tid\nACG CGT GTA\tx\ta b\nACG\t\t"q""1"\n'


def test_write_parquet_is_zstd_compressed(tmp_path: Path):
    table = pa.table({"id": ["a", "b", "c"], "length": pa.array([1, 2, 3], type=pa.int32())})
    path = tmp_path / "index.parquet"
    write_parquet(table, path)
    meta = pq.ParquetFile(path).metadata
    codecs = {meta.row_group(0).column(i).compression for i in range(meta.num_columns)}
    assert codecs == {"ZSTD"}
    assert pq.read_table(path).equals(table)


def test_kmer_text_counts_every_batch(tmp_path: Path):
    """More records than one batch holds (10,000): the count is the total, every row written."""
    records = [DnaRecord(i + 1, f"s{i}", "ACGT", "y") for i in range(10_001)]
    path = tmp_path / "tokens_kmer_tokenize.tsv"
    assert write_kmer_text(records, path, {"k": 2, "stride": 2}) == 10_001
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 10_002 and lines[-1] == "AC GT\ty\ts10000"


def test_scheme_steps_read_table_columns_and_apply_the_filters(tmp_path: Path):
    """A CSV input with its own column names; min_length 5 drops the 4-base row in every step."""
    table = tmp_path / "t.csv"
    table.write_text("name,seq,y\nr1,ACGTA,p\nr2,ACGT,q\nr3,acgtnac,q\n", encoding="utf-8")
    card = _card(
        tmp_path,
        {"path": "t.csv"},
        {"min_length": 5, "tokenizers": ["char", "kmer_tokenize"], "char": {"max_len": 8}},
        columns={"sequence": "seq", "label": "y", "id": "name"},
    )
    npy = tmp_path / "tokens_char.npy"
    tokens_fixed(SchemeOptions.from_card(card, "char"), [table], npy)
    # char ids A0 C1 G2 T3 N4, <PAD> 5, right-padded to 8
    assert np.load(npy).tolist() == [[0, 1, 2, 3, 0, 5, 5, 5], [0, 1, 2, 3, 4, 0, 1, 5]]
    tsv = tmp_path / "tokens_kmer_tokenize.tsv"
    k, stride = card["params"]["kmer_tokenize"]["k"], card["params"]["kmer_tokenize"]["stride"]
    assert kmer_text(SchemeOptions.from_card(card, "kmer_tokenize"), [table], tsv) == 2
    rows = [line.split("\t") for line in tsv.read_text(encoding="utf-8").splitlines()[1:]]
    for (text, label, name), (sequence, want_label, want_name) in zip(
        rows, [("ACGTA", "p", "r1"), ("ACGTNAC", "q", "r3")], strict=True
    ):
        starts = range(0, len(sequence) - k + 1, stride)
        assert (text, label, name) == (" ".join(sequence[i : i + k] for i in starts), want_label, want_name)


# --- labels, formats, batches, qc ------------------------------------------------------------


def _recs(*headers: str) -> list[DnaRecord]:
    return [DnaRecord(i + 1, h, "ACGT", "old") for i, h in enumerate(headers)]


def test_label_from_header_by_hand():
    records = _recs("x class=C y", "x class=P", "nothing")
    got = list(label_from_header(records, r"class=(\w)", source="f.fa", on_unmatched="unlabelled"))
    assert [r.label for r in got] == ["C", "P", None]
    assert [r.id for r in got] == ["x class=C y", "x class=P", "nothing"]
    mapped = label_from_header(records[:2], r"class=(\w)", source="f.fa", label_map={"C": "Cyp", "P": "Pap"})
    assert [r.label for r in mapped] == ["Cyp", "Pap"]
    whole = label_from_header(records[:1], r"class=\w", source="f.fa")  # no group: the whole match
    assert [r.label for r in whole] == ["class=C"]


def test_label_from_header_errors_are_exact_lines():
    records = _recs("a class=C", "b")
    with pytest.raises(InputError) as caught:
        list(label_from_header(records, r"class=(\w)", source="f.fa"))
    assert str(caught.value) == "f.fa: record 2 (b): header does not match label pattern 'class=(\\\\w)'"
    with pytest.raises(InputError) as caught:
        list(label_from_header(records, r"class=(\w)", source="f.fa", label_map={"P": "Pap"}))
    assert str(caught.value) == "f.fa: record 1 (a class=C): label 'C' from the header is not in the label map ['P']"
    with pytest.raises(InputError) as caught:
        list(label_from_header(records, "(", source="card.yaml"))
    assert str(caught.value).startswith("card.yaml: label_regex: label_regex '(' is not a valid regular expression (")
    slow = [DnaRecord(1, "a" * 40 + "!", "ACGT")]
    with pytest.raises(InputError) as caught:
        list(label_from_header(slow, r"^(a|aa)+$", source="f.fa", timeout_s=0.01))
    assert str(caught.value) == (
        f"f.fa: record 1 ({'a' * 40}!): label_regex '^(a|aa)+$' took longer than 0.01 s on this header "
        "(catastrophic backtracking: avoid nested quantifiers such as (a+)+ or (a|aa)+)"
    )


@pytest.mark.parametrize(
    ("name", "entry", "fmt"),
    [
        ("a.fa", {}, "fasta"),
        ("a.FASTA.gz", {}, "fasta"),
        ("a.fna.bgz", {}, "fasta"),
        ("a.csv", {}, "table"),
        ("a.tsv.gz", {}, "table"),
        ("a.txt", {}, "table"),
        ("a.tab", {}, "table"),
        ("a.npy", {}, "tokens"),
        ("a.csv", {"format": "text"}, "text"),
        ("a.seq", {"format": "fasta"}, "fasta"),
        ("a.csv", {"format": None}, "table"),
    ],
)
def test_input_format_by_suffix(name, entry, fmt):
    assert input_format(entry, name) == fmt


def test_input_format_unknown_suffix_is_one_line():
    for name, suffix in (("data/a.gb", ".gb"), ("data/noext", ""), ("data/x.gz", "")):
        with pytest.raises(InputError) as caught:
            input_format({}, name)
        assert str(caught.value) == (
            f"{name}: cannot tell the format from the suffix {suffix!r}; set input format: fasta|table|text|tokens"
        )


def _batches_reference(lengths: list[int], max_records: int, max_bases: int) -> list[list[int]]:
    out: list[list[int]] = []
    for i, n in enumerate(lengths):
        if out and (len(out[-1]) < max_records and sum(lengths[j] for j in out[-1]) + n <= max_bases):
            out[-1].append(i)
        else:
            out.append([i])
    return out


@pytest.mark.parametrize(
    ("lengths", "max_records", "max_bases"),
    [([3, 3, 3, 3, 3], 2, 100), ([4, 4, 4], 10, 8), ([4, 5, 20, 1], 10, 9), ([1] * 7, 3, 3), ([10], 1, 1)],
)
def test_batched_closes_at_either_limit(lengths, max_records, max_bases):
    records = [DnaRecord(i + 1, f"r{i}", "A" * n) for i, n in enumerate(lengths)]
    got = [[r.number - 1 for r in batch] for batch in batched(records, max_records, max_bases)]
    assert got == _batches_reference(lengths, max_records, max_bases)
    assert list(batched([], 2, 2)) == []


def test_dataset_qc_by_hand():
    records = [
        DnaRecord(1, "a", "ACGT", "x"),
        DnaRecord(2, "b", "acgt", "y"),  # duplicate of a (case), other label: a conflict
        DnaRecord(3, "c", "NNNN", None),
        DnaRecord(4, "d", "GGCCAT", "x"),
        DnaRecord(5, "a", "GGCCAT", "x"),  # duplicate of d, same label; id a repeated
        DnaRecord(6, "e", "TTTT", "y"),
        DnaRecord(7, "f", "TTTT", "y"),
    ]
    report = dataset_qc(records, examples=1)
    assert report["n_sequences"] == 7 and report["n_bases"] == 4 * 5 + 6 * 2
    assert report["length"] == {"min": 4.0, "mean": 32 / 7, "median": 4.0, "max": 6.0}
    assert report["gc_fraction"] == {
        "min": 0.0,
        "mean": pytest.approx((0.5 * 2 + 4 / 6 * 2) / 6),
        "median": 0.5,
        "max": 4 / 6,
    }
    assert report["n_fraction"] == {"min": 0.0, "mean": 1 / 7, "median": 0.0, "max": 1.0}
    assert report["class_counts"] == {"x": 3, "y": 3} and report["n_unlabelled"] == 1
    assert report["duplicates"] == {
        "n_groups": 3,
        "n_sequences_in_groups": 6,
        "n_redundant": 3,
        "examples": [["a", "b"]],
    }
    assert report["label_conflicts"] == {
        "n_groups": 1,
        "n_sequences": 2,
        "examples": [{"ids": ["a", "b"], "labels": ["x", "y"]}],
    }
    assert report["duplicate_ids"] == {"n_ids": 1, "examples": ["a"]}
    seen = []
    dataset_qc(records[:2], observe=lambda record, stats: seen.append((record.id, stats["length"])))
    assert seen == [("a", 4), ("b", 4)]
    empty = dataset_qc([])
    assert empty["length"] == {"min": None, "mean": None, "median": None, "max": None} and empty["n_sequences"] == 0
    assert len(dataset_qc(records)["duplicates"]["examples"]) == 3  # the default shows up to 5 groups


def test_facts_entries_by_hand(tmp_path: Path):
    """Two sequences (10 and 5 bases, one with N): every scheme's completed-card entry, field by field."""
    from genoprep.dna.options import FactsOptions, IngestOptions
    from genoprep.dna.steps import facts, ingest, kmer_counts, tokens_variable

    fasta = tmp_path / "s.fa"
    fasta.write_text(">a\nACGTACGTNA\n>b\nttgca\n", encoding="utf-8")
    card = _card(
        tmp_path,
        {"path": "s.fa", "label": "z"},
        {
            "tokenizers": ["char", "hyenadna", "dnabert", "kmer_counts", "kmer_tokenize"],
            "char": {"max_len": 8},
            "hyenadna": {"max_len": 8},
            "kmer_counts": {"k": 2},
            "dnabert": {"k": 3},
            "kmer_tokenize": {"k": 4, "stride": 3},
            "max_n_fraction": 0.5,
        },
    )
    out = tmp_path / "out"
    out.mkdir()
    ingest(IngestOptions.from_card(card), [fasta], out / "obs.tsv", out / "qc.json")
    for scheme in ("char", "hyenadna"):
        tokens_fixed(SchemeOptions.from_card(card, scheme), [fasta], out / f"tokens_{scheme}.npy")
    tokens_variable(SchemeOptions.from_card(card, "dnabert"), [fasta], out / "tokens_dnabert.parquet")
    kmer_counts(SchemeOptions.from_card(card, "kmer_counts"), [fasta], out / "kmers_k2.npz", out / "kmers_k2.tsv")
    kmer_text(SchemeOptions.from_card(card, "kmer_tokenize"), [fasta], out / "tokens_kmer_tokenize.tsv")
    found = facts(FactsOptions.from_card(card), out / "qc.json", sorted(out.iterdir()))
    assert (found["n_sequences"], found["n_bases"], found["class_counts"], found["n_unlabelled"]) == (
        2,
        15,
        {"z": 2},
        0,
    )
    assert (found["n_duplicate_groups"], found["n_label_conflicts"]) == (0, 0)
    tok = {name: {k: v for k, v in entry.items() if k != "description"} for name, entry in found["tokenizers"].items()}
    assert tok["char"] == {
        "params": {"max_len": 8, "truncation": "right", "stride": None},
        "artifact": "tokens_char.npy",
        "shape": [2, 8],
        "vocab_size": 6,  # A C G T N <PAD>
        "n_truncated": 1,  # 10 bases > 8
    }
    assert tok["hyenadna"] == {
        "params": {"max_len": 8, "truncation": "right", "stride": None},
        "artifact": "tokens_hyenadna.npy",
        "shape": [2, 8],
        "vocab_size": 12,  # 7 special tokens, A C G T N
        "n_truncated": 1,  # 10 bases > 8 - 1 ([SEP])
    }
    assert tok["dnabert"] == {
        "params": {"k": 3, "window": None, "stride": None},
        "artifact": "tokens_dnabert.parquet",
        "n_sequences": 2,
        "n_tokens": (10 - 2 + 2) + (5 - 2 + 2),  # overlapping 3-mers + [CLS] [SEP]
        "vocab_size": 5 + 4**3,
    }
    # k-mers of ACGTACGTNA without N: AC CG GT TA AC CG GT (7); of TTGCA: TT TG GC CA (4), all different per row
    assert tok["kmer_counts"] == {
        "params": {"k": 2, "canonical": False},
        "artifact": "kmers_k2.npz",
        "columns": "kmers_k2.tsv",
        "shape": [2, 16],
        "nnz": 4 + 4,
        "vocab_size": 16,
    }
    assert tok["kmer_tokenize"] == {
        "params": {"k": 4, "stride": 3},
        "artifact": "tokens_kmer_tokenize.tsv",
        "vocab_size": 256,
    }
    assert "max_len=8" in found["tokenizers"]["char"]["description"]
    assert found["preprocessing"]["filters"] == "kept sequences with length >= 1 and n_fraction <= 0.5"
    assert list(found["preprocessing"]) == ["software", "ingest", "filters", "case", "order"]
    assert found["preprocessing"]["case"] == "soft-masked (lower-case) bases upper-cased by every scheme"
    assert found["preprocessing"]["order"] == (
        "rows of every artifact follow obs.tsv (inputs in card order, records in file order)"
    )
    assert found["preprocessing"]["software"]["python"] == platform.python_version()
    assert "numpy" in found["preprocessing"]["software"]
    assert "IUPAC ACGTURYSWKMBDHVN" in found["preprocessing"]["ingest"]
    assert "record id = whole header line" in found["preprocessing"]["ingest"]


def test_facts_count_tokens_over_every_row_group(tmp_path: Path):
    """10,001 records make two row groups (10,000 records a batch): n_tokens sums both."""
    from genoprep.dna.options import FactsOptions, IngestOptions
    from genoprep.dna.steps import facts, ingest, tokens_variable

    fasta = tmp_path / "s.fa"
    fasta.write_text("".join(f">r{i}\nACGTA\n" for i in range(10_001)), encoding="utf-8")
    card = _card(tmp_path, {"path": "s.fa"}, {"tokenizers": ["dnabert"], "dnabert": {"k": 3}})
    ingest(IngestOptions.from_card(card), [fasta], tmp_path / "obs.tsv", tmp_path / "qc.json")
    parquet = tmp_path / "tokens_dnabert.parquet"
    tokens_variable(SchemeOptions.from_card(card, "dnabert"), [fasta], parquet)
    assert pq.ParquetFile(parquet).metadata.num_row_groups == 2
    found = facts(FactsOptions.from_card(card), tmp_path / "qc.json", [tmp_path / "obs.tsv", parquet])
    entry = found["tokenizers"]["dnabert"]
    assert (entry["n_sequences"], entry["n_tokens"]) == (10_001, 10_001 * (3 + 2))  # 3 3-mers + [CLS] [SEP]


def test_fixed_tokens_npy_layout_summary_and_index(tmp_path: Path):
    """char, max_len 4: rows by hand; a 128-byte version-1.0 preamble (magic, little-endian header
    length 118, the dict first, space-padded, LF), then the rows; one row per batch of one record."""
    records = [DnaRecord(1, "a", "ACGT", "p"), DnaRecord(2, "b", "ACGTA", None), DnaRecord(3, "c", "gn", "q")]
    out = tmp_path / "tokens_char.npy"
    index = tmp_path / "index.parquet"
    settings = {"max_len": 4, "truncation": "right"}
    summary = write_fixed_tokens(records, out, "char", settings, index_path=index, dtype=np.int16, batch_records=1)
    assert summary == {"scheme": "char", "params": settings, "n_sequences": 3, "max_len": 4, "n_truncated": 1,
                       "n_bases": 11}  # fmt: skip
    data = out.read_bytes()
    assert len(data) == 128 + 3 * 4 * 2
    assert data[:8] == b"\x93NUMPY\x01\x00" and data[8:10] == (118).to_bytes(2, "little")
    header = data[10:128].decode("latin1")
    assert header.startswith("{") and header.endswith("\n") and header[:-1].rstrip(" ").endswith("}")
    assert eval(header) == {"descr": "<i2", "fortran_order": False, "shape": (3, 4)}
    array = np.load(out)
    assert array.dtype == np.int16 and array.tolist() == [[0, 1, 2, 3], [0, 1, 2, 3], [2, 4, 5, 5]]
    table = pq.read_table(index)
    assert table.to_pylist() == [
        {"id": "a", "label": "p", "length": 4},
        {"id": "b", "label": None, "length": 5},
        {"id": "c", "label": "q", "length": 2},
    ]
    assert table.schema.metadata[b"genoprep.scheme"] == b"char"
    assert json.loads(table.schema.metadata[b"genoprep.params"]) == settings
    meta = pq.ParquetFile(index).metadata
    assert {meta.row_group(0).column(i).compression for i in range(meta.num_columns)} == {"ZSTD"}
    empty = tmp_path / "empty.npy"
    write_fixed_tokens([], empty, "char", settings)
    assert np.load(empty).shape == (0, 4) and len(empty.read_bytes()) == 128
    with pytest.raises(ValueError) as caught:
        write_fixed_tokens(records, tmp_path / "x.npy", "dnabert", {"k": 3})
    assert str(caught.value) == "scheme 'dnabert' is not fixed-length"


def test_options_from_card_fields(tmp_path: Path):
    from genoprep.dna.options import FactsOptions

    (tmp_path / "s.fa").write_text(">a\nACGT\n", encoding="utf-8")
    card = _card(tmp_path, {"path": "s.fa"}, {"min_length": 3, "max_n_fraction": 0.25, "tokenizers": ["char"]})
    facts_options = FactsOptions.from_card(card)
    assert (facts_options.min_length, facts_options.max_n_fraction) == (3, 0.25)
    assert dict(facts_options.schemes) == {"char": {"max_len": 512, "truncation": "right", "stride": None}}
    with pytest.raises(TypeError) as caught:
        SchemeOptions.from_card(card)
    assert str(caught.value) == "SchemeOptions.from_card needs the scheme's name"


def _canonical_2mers() -> list[str]:
    """2-mers whose code (product order over ACGT) is not above their reverse complement's."""
    kmers = [a + b for a in "ACGT" for b in "ACGT"]
    rc = {k: k[::-1].translate(str.maketrans("ACGT", "TGCA")) for k in kmers}
    return [k for k in kmers if kmers.index(k) <= kmers.index(rc[k])]


def test_kmer_counts_npz_by_hand(tmp_path: Path):
    """2-mer counts per record against a plain count; int32 CSR arrays; canonical columns; batches of one."""
    import zipfile

    from scipy import sparse

    from genoprep.dna.artifacts import write_kmer_counts

    sequences = ["ACGTAC", "ttnGG", "AAAA"]
    records = [DnaRecord(i + 1, f"r{i}", s, None) for i, s in enumerate(sequences)]
    for canonical in (False, True):
        columns = _canonical_2mers() if canonical else [a + b for a in "ACGT" for b in "ACGT"]
        rc = str.maketrans("ACGT", "TGCA")
        expected = np.zeros((3, len(columns)), dtype=np.int64)
        for row, s in enumerate(sequences):
            s = s.upper()
            for i in range(len(s) - 1):
                kmer = s[i : i + 2]
                if set(kmer) <= set("ACGT"):
                    if canonical and kmer not in columns:
                        kmer = kmer[::-1].translate(rc)
                    expected[row, columns.index(kmer)] += 1
        path = tmp_path / f"k{canonical}.npz"
        summary = write_kmer_counts(records, path, {"k": 2, "canonical": canonical}, batch_records=1)
        assert summary["params"] == {"k": 2, "canonical": canonical} and summary["n_bases"] == 15
        matrix = sparse.load_npz(path)
        assert matrix.shape == (3, len(columns)) and matrix.toarray().tolist() == expected.tolist()
        with np.load(path) as npz:
            assert {name: npz[name].dtype for name in ("data", "indices", "indptr")} == {
                "data": np.int32,
                "indices": np.int32,
                "indptr": np.int32,
            }
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            assert [i.filename for i in infos] == ["data.npy", "format.npy", "indices.npy", "indptr.npy", "shape.npy"]
            assert {(i.compress_type, i.date_time) for i in infos} == {(zipfile.ZIP_DEFLATED, (1980, 1, 1, 0, 0, 0))}
    empty = tmp_path / "empty.npz"
    write_kmer_counts([], empty, {"k": 2, "canonical": False})
    assert sparse.load_npz(empty).shape == (0, 16)


# --- pieces and record ends (mutmut run of 2026-11-30, branch mutB16) ------------------------------


def test_split_record_and_whole_records_by_hand():
    """A record as pieces of 3 bases: the last flag is set on the piece that reaches the end,
    also when the length is a multiple of the piece size; an empty record is one empty piece."""
    from genoprep.dna.io import DnaRecord, Piece, _split_record
    from genoprep.dna.windows import whole_records

    record = DnaRecord(7, "r7", "ACGTAC", "lab")
    assert list(_split_record(record, 3)) == [
        Piece(7, "r7", "lab", 0, b"ACG", False),
        Piece(7, "r7", "lab", 3, b"TAC", True),
    ]
    assert list(_split_record(DnaRecord(2, "r2", b"ACGTA", None), 2)) == [
        Piece(2, "r2", None, 0, b"AC", False),
        Piece(2, "r2", None, 2, b"GT", False),
        Piece(2, "r2", None, 4, b"A", True),
    ]
    assert list(_split_record(DnaRecord(1, "e", "", "x"), 3)) == [Piece(1, "e", "x", 0, b"", True)]
    assert list(whole_records([DnaRecord(3, "w", "acg", "L"), DnaRecord(4, "v", b"T", None)])) == [
        Piece(3, "w", "L", 0, b"acg", True),
        Piece(4, "v", None, 0, b"T", True),
    ]


def test_record_ends_keep_the_first_or_last_bases_over_pieces():
    from genoprep.dna.io import DnaRecord, _split_record
    from genoprep.dna.windows import record_ends

    records = [DnaRecord(1, "a", "ACGTACGT", "p"), DnaRecord(2, "b", "GGC", "q")]

    def pieces():
        return [p for r in records for p in _split_record(r, 3)]

    assert list(record_ends(pieces(), 5, "right")) == [
        DnaRecord(1, "a", b"ACGTA", "p", length=8),
        DnaRecord(2, "b", b"GGC", "q", length=3),
    ]
    assert list(record_ends(pieces(), 5, "left")) == [
        DnaRecord(1, "a", b"TACGT", "p", length=8),
        DnaRecord(2, "b", b"GGC", "q", length=3),
    ]


def test_summarize_counts_other_letters_and_digests_the_upper_case_text():
    import hashlib

    from genoprep.dna.io import DnaRecord
    from genoprep.dna.qc import summarize

    for sequence in ("ACGTNNac", b"ACGTNNac"):
        record = DnaRecord(1, "a", sequence)
        summary = summarize(record)
        assert summary.record is record and summary.n_other == 2  # N, N (a, c count as bases)
        assert summary.digest == hashlib.blake2b(b"ACGTNNAC", digest_size=16).digest()
        assert summary.stats == {"length": 8, "gc_fraction": 3 / 6, "n_fraction": 2 / 8}


def test_alphabet_table_by_hand():
    """``_table`` runs at import (mutmut's parent has built the tables before it forks): called directly."""
    from genoprep.dna.alphabet import _table

    table = _table({"A": 0, "c": 3}, 9)
    expected = np.full(256, 9, dtype=np.uint8)
    expected[[ord("A"), ord("a")]] = 0
    expected[[ord("C"), ord("c")]] = 3
    assert table.dtype == np.uint8 and table.shape == (256,) and np.array_equal(table, expected)


def test_non_base_positions_by_hand():
    """Positions of code 4 in 2-bit codes: at position 0, adjacent ones, none, and more than the
    few that ``bytes.find`` looks for (then numpy), against a plain scan."""
    from genoprep.dna.tokenize import _FEW_NON_BASES, _non_base_positions

    for codes in (
        b"\x04\x00\x04\x04\x01\x04",
        b"\x00\x01\x02\x03",
        b"",
        bytes([4, 4, 0] * (_FEW_NON_BASES + 2)),
    ):
        found = _non_base_positions(codes)
        assert found.dtype == np.int64 and found.tolist() == [i for i, c in enumerate(codes) if c == 4]


def test_small_paths_by_hand():
    """Bytes inputs, dtypes and refusal texts of small helpers, each worked by hand."""
    from collections import Counter
    from itertools import product

    from genoprep.dna.qc import sequence_stats
    from genoprep.dna.tokenize import SCHEMES, _count_long, _kmer_text_encode, dnabert_encode_numpy

    assert sequence_stats(b"ACGN") == {"length": 4, "gc_fraction": 2 / 3, "n_fraction": 1 / 4}
    assert _kmer_text_encode([b"acgta", "TTG"], 2, 2) == ["AC GT", "TT"]
    counts = _count_long(b"ACGTAC", 2, 16)
    codes = {"".join(p): i for i, p in enumerate(product("ACGT", repeat=2))}
    expected = np.zeros(16, dtype=np.int64)
    for kmer, n in Counter("ACGTAC"[i : i + 2] for i in range(5)).items():
        expected[codes[kmer]] = n
    assert counts.dtype == np.int64 and counts.tolist() == expected.tolist()
    with pytest.raises(ValueError) as caught:
        dnabert_encode_numpy(["ACGT"], k=7)
    assert str(caught.value) == "DNABERT k must be one of (3, 4, 5, 6), not 7"
    variable = next(s for s in SCHEMES.values() if s.kind != "fixed")
    with pytest.raises(ValueError) as caught:
        variable.usable_length({"max_len": 10})
    assert str(caught.value) == f"scheme {variable.name!r} has no fixed length"


# --- the sample of 2026-11-30 (branch mutD18: sample(500) of the dna mutants) ----------------------


def test_fasta_filters_count_the_letters_of_every_piece(tmp_path: Path):
    """The N-fraction filter on a FASTA read in pieces adds up the other letters of all of a
    record's pieces (Ns in the first piece only, in the last only, none), against the whole text."""
    from genoprep.dna.io import read_pieces

    records = {"a": "NNNNACGTACGT", "b": "ACGTACGTNNNN", "c": "ACGTACGTACGA", "d": "ACGTNACG", "e": "RACGTACGTACG"}
    fasta = tmp_path / "f.fa"
    fasta.write_text(
        "".join(f">{name}\n" + "".join(s[i : i + 4] + "\n" for i in range(0, len(s), 4)) for name, s in records.items())
    )
    for min_length, max_n_fraction in ((1, 0.25), (10, 1.0), (9, 0.1), (1, 0.0)):
        keep = SequenceFilter(min_length, max_n_fraction)
        got: dict[str, str] = {}
        for piece in read_pieces([{"path": "f.fa"}], [fasta], {}, keep, 4):
            assert len(piece.sequence) <= 4  # pieces of at most piece_bases (4-base lines here)
            got[piece.id] = got.get(piece.id, "") + piece.sequence.decode()
        expected = {n: s for n, s in records.items() if _keeps_reference(s, min_length, max_n_fraction)}
        assert got == expected, (min_length, max_n_fraction)


def test_count_blocks_rows_name_their_records():
    """Whole records counted in batches keep their number, id and label; a record in pieces too."""
    from collections import Counter

    from genoprep.dna.io import _split_record
    from genoprep.dna.windows import count_blocks

    records = [DnaRecord(1, "r1", "ACGTA", "x"), DnaRecord(2, "r2", "TTG", None), DnaRecord(3, "r3", "GATTACA", "y")]
    pieces = [p for r in records[:2] for p in _split_record(r, 10)] + list(_split_record(records[2], 3))
    rows, counts = [], []
    for batch, block in count_blocks(pieces, 2, False, 2, 100):
        rows += [(r.number, r.id, r.label) for r in batch]
        counts += block.toarray().tolist()
    assert rows == [(1, "r1", "x"), (2, "r2", None), (3, "r3", "y")]
    columns = [a + b for a in "ACGT" for b in "ACGT"]
    for row, record in zip(counts, records, strict=True):
        expected = Counter(record.sequence[i : i + 2] for i in range(len(record.sequence) - 1))
        assert row == [expected[c] for c in columns]


def test_kmer_counts_sparse_is_int32():
    """The CSR matrix and the dense array hold int32 counts (as the docstring says) equal to a plain count."""
    from collections import Counter

    from genoprep.dna.tokenize import kmer_counts

    dense = kmer_counts(["ACGTAC", "TT", "A"], k=2, sparse=False)
    assert (
        dense.dtype == np.int32
        and dense.tolist() == kmer_counts(["ACGTAC", "TT", "A"], k=2, sparse=True).toarray().tolist()
    )
    matrix = kmer_counts(["ACGTAC", "TT", "A"], k=2, sparse=True)
    columns = [a + b for a in "ACGT" for b in "ACGT"]
    assert matrix.dtype == np.int32 and matrix.indices.dtype == np.int32 and matrix.shape == (3, 16)
    for row, s in zip(matrix.toarray().tolist(), ["ACGTAC", "TT", "A"], strict=True):
        expected = Counter(s[i : i + 2] for i in range(len(s) - 1))
        assert row == [expected[c] for c in columns]


def test_empty_kmer_counts_npz_arrays_are_those_scipy_writes(tmp_path: Path):
    """No records: the npz holds the same arrays (dtypes, values) as scipy's own save_npz of an empty int32 CSR."""
    from scipy import sparse

    from genoprep.dna.artifacts import write_kmer_counts

    write_kmer_counts([], tmp_path / "empty.npz", {"k": 2, "canonical": False})
    sparse.save_npz(tmp_path / "scipy.npz", sparse.csr_matrix((0, 16), dtype=np.int32), compressed=True)
    with np.load(tmp_path / "empty.npz") as got, np.load(tmp_path / "scipy.npz") as want:
        for name in ("data", "indices", "indptr", "shape"):
            assert got[name].dtype == want[name].dtype and got[name].tolist() == want[name].tolist(), name


def test_unknown_nucleotide_transformer_token_is_one_whole_line(tmp_path: Path):
    """Ids by hand: the Nucleotide Transformer vocabulary starts <unk> <pad> <mask> <cls> (ids 0-3)."""
    from genoprep.dna.io import read_token_array

    path = tmp_path / "nt.npy"
    np.save(path, np.array([[3, 0, 1]], dtype=np.int32))  # <cls> <unk> <pad>
    with pytest.raises(InputError) as caught:
        list(read_token_array(path, "nucleotide_transformer", 6))
    assert str(caught.value) == (
        f"{path}: row 1: token <unk> at sequence token 1: the number of bases it stood for is unknown, "
        "so the sequence cannot be decoded"
    )


def test_check_split_files_whole_lines():
    from genoprep.dna.options import check_split_files

    def card(*splits, predefined=None):
        return {
            "inputs": [{"path": f"{i}.fa", "split": s} for i, s in enumerate(splits)],
            "params": {"split": {"predefined": predefined}},
        }

    check_split_files(card(None, None), "c.yaml")
    check_split_files(card("train", "Dev", " TEST "), "c.yaml")
    check_split_files({"input": {"path": "a.fa"}, "params": {"split": {"predefined": "fold"}}}, "c.yaml")
    for given, line in (
        (card("train", None), "c.yaml: inputs: either every input names its split or none does"),
        (card(None, "test"), "c.yaml: inputs: either every input names its split or none does"),
        (
            card("train", "holdout"),
            "c.yaml: inputs[1].split: split 'holdout' is not a split name (train, val/dev/validation, test)",
        ),
        (
            card("train", "test", predefined="fold"),
            "c.yaml: params.split: the inputs name their split: params.split.predefined must not be set too",
        ),
    ):
        with pytest.raises(InputError) as caught:
            check_split_files(given, "c.yaml")
        assert str(caught.value) == line


def test_thrift_compact_struct_by_hand():
    """parquet_writer._Struct against bytes worked out from the Thrift compact protocol: a field header is
    (id delta << 4) | type (i16 4, i32 5, i64 6, binary 8, list 9, struct 12, true 1, false 2), integers are
    zigzag varints, a list header is (size << 4) | element type, or 0xF0 | type and a varint size from 15 on."""
    from genoprep.dna.parquet_writer import _Struct

    inner = _Struct().i32(1, 1)
    got = (
        _Struct()
        .i32(1, 5)
        .i16(2, -1)
        .i64(3, 300)
        .binary(5, "ab")
        .bool(6, True)
        .bool(7, False)
        .i32_list(8, [1, -2])
        .binary_list(9, ["x"] * 15)
        .struct(10, inner)
        .struct_list(11, [b"\x00", _Struct()])
        .i64(12, -(2**40))
        .i32(13, 64)
        .encode()
    )
    want = (
        b"\x15\x0a"  # 1: i32 5 -> zigzag 10
        + b"\x14\x01"  # 2: i16 -1 -> zigzag 1
        + b"\x16\xd8\x04"  # 3: i64 300 -> zigzag 600 = 0x58 | 0x80, 4
        + b"\x28\x02ab"  # 5 (delta 2): binary, length 2
        + b"\x11"  # 6: true
        + b"\x12"  # 7: false
        + b"\x19\x25\x02\x03"  # 8: list of 2 i32: 1 -> 2, -2 -> 3
        + b"\x19\xf8\x0f"  # 9: list of 15 binaries: long form
        + b"\x01x" * 15
        + b"\x1c\x15\x02\x00"  # 10: struct { 1: i32 1 }
        + b"\x19\x2c\x00\x00"  # 11: list of 2 structs, both empty
        + b"\x16\xff\xff\xff\xff\xff\x3f"  # 12: i64 -2**40 -> zigzag 2**41 - 1: 41 one bits, 7 a byte
        + b"\x15\x80\x01"  # 13: i32 64 -> zigzag 128: two bytes
        + b"\x00"  # stop
    )
    assert got == want


def test_parquet_schema_elements_are_the_bytes_pyarrow_writes(tmp_path: Path):
    """The footer's schema elements (root name and children, then the six columns' elements) are the bytes
    pyarrow writes for the same table (only the root's repetition type, which pyarrow also writes, differs):
    a logical type under another field id is skipped by pyarrow's reader, which falls back on converted_type."""
    import struct

    from genoprep.dna.artifacts import TOKENS_SCHEMA
    from genoprep.dna.parquet_writer import write_token_table

    table = pa.table(
        {
            "id": ["a", "b"],
            "label": ["x", None],
            "length": pa.array([1, 2], pa.int32()),
            "input_ids": pa.array([[1], [2, 3]], pa.list_(pa.int32())),
        },
        schema=TOKENS_SCHEMA,
    )
    write_token_table(table, tmp_path / "ours.parquet")
    pq.write_table(table, tmp_path / "pyarrow.parquet")

    def schema_bytes(path: Path) -> bytes:
        data = path.read_bytes()
        footer = data[-8 - struct.unpack("<I", data[-8:-4])[0] : -8]
        start, end = footer.index(b"\x06schema"), footer.index(b"\x07element\x00") + len(b"\x07element\x00")
        return footer[start:end]

    assert schema_bytes(tmp_path / "ours.parquet") == schema_bytes(tmp_path / "pyarrow.parquet")


@pytest.mark.parametrize("block_bytes", range(1, 20))
def test_a_greater_than_sign_inside_a_sequence_line_at_any_block_boundary(tmp_path: Path, block_bytes: int):
    """'>' that does not start a line is a bad letter wherever the reader's blocks are cut (block 10 starts
    at "C>x"), not the start of a header: the whole line, as the whole-record reader words it."""
    from genoprep.dna.io import iter_fasta_pieces

    path = tmp_path / "gt.fa"
    path.write_bytes(b">r\nACGT\nAC>x\nACGT\n")
    with pytest.raises(InputError) as caught:
        list(iter_fasta_pieces(path, 1000, block_bytes=block_bytes))
    assert str(caught.value) == f"{path}: record 1 (r): character '>' at position 7 is not an IUPAC nucleotide code"


def test_nucleotide_transformer_ids_and_dtypes_by_hand():
    """k = 2 ids from InstaDeep's rule: 6 specials, the 16 2-mers in product("ATCG") order (6..21), then A T C G N
    (22..26): ACGNT -> <cls> AC G N T; TT -> <cls> TT. Values int32, offsets int64 (RaggedTokens' contract)."""
    from genoprep.dna.tokenize import nucleotide_transformer_encode_numpy

    tokens = nucleotide_transformer_encode_numpy(["ACGNT", "TT"], k=2)
    assert tokens.values.tolist() == [3, 6 + 0 * 4 + 2, 25, 26, 23, 3, 6 + 1 * 4 + 1]
    assert tokens.offsets.tolist() == [0, 5, 7]
    assert tokens.values.dtype == np.int32 and tokens.offsets.dtype == np.int64


def test_dnabert_unknown_kmers_that_do_not_overlap_are_one_whole_line(tmp_path: Path):
    """Ids by hand (DNABERT k = 3: [PAD] [UNK] [CLS] [SEP] [MASK], then 3-mers in product("ATCG") order from 5):
    [CLS] ACG [UNK] TTT [SEP]: TTT's first base sits where ACG put a G."""
    from genoprep.dna.io import read_token_array

    def kmer_id(kmer: str) -> int:
        return 5 + sum("ATCG".index(base) * 4 ** (2 - i) for i, base in enumerate(kmer))

    path = tmp_path / "d.npy"
    np.save(path, np.array([[2, kmer_id("ACG"), 1, kmer_id("TTT"), 3]], dtype=np.int32))
    with pytest.raises(InputError) as caught:
        list(read_token_array(path, "dnabert", 3))
    assert str(caught.value) == f"{path}: row 1: k-mer 3 'TTT' does not overlap the k-mers before it"


@pytest.mark.parametrize(("name", "text", "entry"), [("e.fa", "\n\n", {}), ("e.txt", "", {"format": "text"})])
def test_a_file_without_sequences_is_one_whole_line(tmp_path: Path, name: str, text: str, entry: dict):
    from genoprep.dna.io import read_entry

    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        list(read_entry(entry, path, {"sequence": "sequence"}))
    assert str(caught.value) == f"{path}: no sequences in the file (empty, or blank lines only)"


def test_filter_counts_steps_by_hand():
    """Lengths 10, 4, 8 with 1, 0, 4 other letters at min_length 5, max_n_fraction 0.2: the length filter keeps
    2 of 3, the N filter 1 of 2; distributions over every record seen (n_fractions 0.1, 0, 0.5: numpy's linear
    percentiles 0.02 and 0.42)."""
    from types import SimpleNamespace

    from genoprep.dna.steps import _FilterCounts

    counts = _FilterCounts(SimpleNamespace(keep=SequenceFilter(5, 0.2)))
    assert [counts.passes(length, other) for length, other in ((10, 1), (4, 0), (8, 4))] == [True, False, False]
    steps = [(s.name, s.unit, s.before, s.after, s.threshold, s.distribution) for s in counts.steps()]
    assert steps == [
        (
            "min_length",
            "sequences",
            3,
            2,
            "length >= 5",
            "sequence length: median 8, 10th percentile 4.8, 90th percentile 9.6 (n=3)",
        ),
        (
            "max_n_fraction",
            "sequences",
            2,
            1,
            "n_fraction <= 0.2",
            "n_fraction: median 0.1, 10th percentile 0.02, 90th percentile 0.42 (n=3)",
        ),
    ]


def test_token_array_shape_and_vocabulary_refusals_are_whole_lines(tmp_path: Path):
    from genoprep.dna.alphabet import dnabert_vocab
    from genoprep.dna.io import read_token_array
    from genoprep.dna.tokenize import MAX_K

    path = tmp_path / "t.npy"
    for array, scheme, k, line in (
        (np.zeros(3, np.int32), "char", 6, "token ids are a 2-D array (sequences x positions), not 1-D (3,)"),
        (np.zeros((0, 5), np.int32), "char", 6, "the token array is empty (shape (0, 5))"),
        (np.zeros((3, 0), np.int32), "char", 6, "the token array is empty (shape (3, 0))"),
        (
            np.array([[3, 6, 1]], np.int32),
            "nucleotide_transformer",
            0,
            f"input.tokens.k: Nucleotide Transformer k must be 1..{MAX_K}, not 0",
        ),
        (
            np.array([[4, 5, 4]], np.int32),
            "char",
            3,
            "row 1: padding <PAD> at position 2 inside the sequence (char pads at the end)",
        ),
    ):
        np.save(path, array)
        with pytest.raises(InputError) as caught:
            list(read_token_array(path, scheme, k))
        assert str(caught.value) == f"{path}: {line}"
    with pytest.raises(ValueError) as caught:
        dnabert_vocab(7)
    assert str(caught.value) == "DNABERT k must be one of (3, 4, 5, 6), not 7"


def test_unmatched_headers_leave_the_next_records_labelled():
    records = _recs("nothing", "x class=C", "none", "y class=P")
    got = list(label_from_header(records, r"class=(\w)", source="f.fa", on_unmatched="unlabelled"))
    assert [(r.id, r.label) for r in got] == [("nothing", None), ("x class=C", "C"), ("none", None), ("y class=P", "P")]


def test_summarize_pieces_digests_the_upper_case_text():
    import hashlib

    from genoprep.dna.io import _split_record
    from genoprep.dna.qc import summarize_pieces

    records = [DnaRecord(1, "a", b"acgTNnac", None), DnaRecord(2, "b", b"GGcc", "x")]
    got = list(summarize_pieces(p for r in records for p in _split_record(r, 3)))
    assert [s.digest for s in got] == [hashlib.blake2b(r.sequence.upper(), digest_size=16).digest() for r in records]
    assert [(s.record.id, s.record.length, s.n_other) for s in got] == [("a", 8, 2), ("b", 4, 0)]


def test_ingest_keeps_a_single_sequence(tmp_path: Path):
    """One of two sequences passes min_length (half kept, min_fraction_kept 0.5): obs.tsv has its row."""
    from genoprep.dna.options import IngestOptions
    from genoprep.dna.steps import ingest

    fasta = tmp_path / "s.fa"
    fasta.write_text(">a\nACGTACGTAC\n>b\nACG\n", encoding="utf-8")
    card = _card(tmp_path, {"path": "s.fa"}, {"tokenizers": ["char"], "min_length": 5, "min_fraction_kept": 0.5})
    ingest(IngestOptions.from_card(card), [fasta], tmp_path / "obs.tsv", tmp_path / "qc.json")
    rows = (tmp_path / "obs.tsv").read_text(encoding="utf-8").splitlines()
    assert len(rows) == 2 and rows[1].split("\t")[:3] == ["a", "", "10"]


def test_kmer_counts_npz_indptr_stays_int32_past_62_counts(tmp_path: Path):
    """The CSR index arrays are int32 while the counts fit in them (as scipy writes them): 64 distinct 3-mers."""
    from itertools import product

    from scipy import sparse

    from genoprep.dna.artifacts import write_kmer_counts

    # a de Bruijn-like walk through every 3-mer: each of the 64 appears at least once
    sequence = "".join("".join(p) for p in product("ACGT", repeat=3))
    write_kmer_counts([DnaRecord(1, "a", sequence, None)], tmp_path / "k.npz", {"k": 3, "canonical": False})
    assert sparse.load_npz(tmp_path / "k.npz").nnz == 64
    with np.load(tmp_path / "k.npz") as npz:
        assert (npz["indptr"].dtype, npz["indices"].dtype, npz["data"].dtype) == (np.int32, np.int32, np.int32)


def test_kmer_count_index_and_summary_by_hand(tmp_path: Path):
    """The index Parquet's schema metadata names the scheme and its params; the summary's counts by hand."""
    from genoprep.dna.artifacts import write_kmer_counts

    records = [DnaRecord(1, "a", "ACGTA", "x"), DnaRecord(2, "b", "NN", None)]
    summary = write_kmer_counts(
        records, tmp_path / "k.npz", {"k": 2, "canonical": False}, index_path=tmp_path / "k.parquet"
    )
    # ACGTA: AC CG GT TA (4 distinct 2-mers); NN: none
    assert {key: summary[key] for key in ("scheme", "n_sequences", "n_columns", "nnz", "n_bases")} == {
        "scheme": "kmer_counts",
        "n_sequences": 2,
        "n_columns": 16,
        "nnz": 4,
        "n_bases": 7,
    }
    metadata = pq.read_schema(tmp_path / "k.parquet").metadata
    assert metadata[b"genoprep.scheme"] == b"kmer_counts"
    assert json.loads(metadata[b"genoprep.params"]) == {"k": 2, "canonical": False}


def test_check_sequence_and_bad_bytes_are_whole_lines(tmp_path: Path):
    from genoprep.dna.io import check_sequence, iter_fasta_bytes, iter_fasta_pieces

    with pytest.raises(InputError) as caught:
        check_sequence("", "f.fa", "record 1 (a)")
    assert str(caught.value) == "f.fa: record 1 (a): empty sequence"
    path = tmp_path / "bad.fa"
    path.write_bytes(b">a\nACGT\n>b x\nAC\xffGT\n")
    try:
        b"\xff".decode("utf-8")
    except UnicodeDecodeError as error:
        reason = error.reason
    for read in (iter_fasta_bytes, iter_fasta_pieces):
        with pytest.raises(InputError) as caught:
            list(read(path))
        assert str(caught.value) == f"{path}: record 2 (b x): not UTF-8 text ({reason})"


def test_reverse_complement_codes_by_hand():
    """k = 3 codes (A=0 C=1 G=2 T=3): AAA 0 -> TTT 63, AAC 1 -> GTT 47, CGT 27 -> ACG 6, ACG 6 -> CGT 27."""
    from genoprep.dna.tokenize import reverse_complement_codes

    got = reverse_complement_codes(np.array([0, 1, 27, 6], dtype=np.uint16), 3)
    assert got.dtype == np.int64 and got.tolist() == [63, 47, 6, 27]


@pytest.mark.parametrize("reader", ["bytes", "pieces"])
def test_a_byte_order_mark_inside_the_file_is_a_bad_letter(tmp_path: Path, reader: str):
    """Only the first bytes of a file may be a BOM: one starting a later block (8 bytes) is U+FEFF in the sequence."""
    from genoprep.dna.io import iter_fasta_bytes, iter_fasta_pieces

    path = tmp_path / "bom.fa"
    path.write_bytes(b">a\nACGT\n\xef\xbb\xbfAC\n")
    with pytest.raises(InputError) as caught:
        if reader == "bytes":
            list(iter_fasta_bytes(path, block_bytes=8))
        else:
            list(iter_fasta_pieces(path, 100, block_bytes=8))
    assert (
        str(caught.value) == f"{path}: record 1 (a): character '\\ufeff' at position 5 is not an IUPAC nucleotide code"
    )


def test_variable_tokens_summary_counts_every_batch(tmp_path: Path):
    """DNABERT (default k = 6): ACGTACGT -> [CLS] + 3 six-mers + [SEP] = 5 tokens; ACGTACG -> 4; one record a batch."""
    from genoprep.dna.artifacts import write_variable_tokens
    from genoprep.dna.tokenize import dnabert_encode

    tokens = dnabert_encode(["ACGTACGT", "ACGTACG"])
    assert [len(tokens[i]) for i in range(len(tokens))] == [5, 4]
    records = [DnaRecord(1, "a", "ACGTACGT", None), DnaRecord(2, "b", "ACGTACG", None)]
    summary = write_variable_tokens(records, tmp_path / "t.parquet", "dnabert", {"k": 6}, batch_records=1)
    assert (summary["n_sequences"], summary["n_tokens"], summary["n_bases"]) == (2, 9, 15)


# --- eighth round (issue 16): last round's survivors in the FASTA piece reader and the token layouts ---


def test_fasta_pieces_file_ending_inside_its_first_header_names_the_whole_header(tmp_path: Path):
    """A file that is one header line without LF (">chr1 x"): the record is empty, and the error
    names its header exactly, first character included."""
    from genoprep.dna.io import iter_fasta_pieces

    path = tmp_path / "h.fa"
    path.write_bytes(b">chr1 x")
    with pytest.raises(InputError) as caught:
        list(iter_fasta_pieces(path))
    assert str(caught.value) == f"{path}: record 1 (chr1 x): empty sequence"


@pytest.mark.parametrize("reader", ["iter_fasta_pieces", "iter_fasta_bytes"])
def test_fasta_read_error_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reader: str):
    """An I/O error in the middle of reading (a disk or network failure) is the one line
    `<file>: cannot read (<reason>)`, not a traceback: the piece reader and the whole-record reader."""
    import errno
    import io

    import genoprep.dna.io as dna_io

    class Failing(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            raise OSError(errno.EIO, "Input/output error")

    path = tmp_path / "s.fa"
    path.write_bytes(b">a\nACGT\n")
    monkeypatch.setattr(dna_io, "open_binary", lambda p: Failing())
    with pytest.raises(InputError) as caught:
        list(getattr(dna_io, reader)(path))
    assert str(caught.value) == f"{path}: cannot read (Input/output error)"


def test_token_array_dnabert_k_refusal_names_the_card_key(tmp_path: Path):
    """DNABERT token ids with k = 7: the one line names the card key `input.tokens.k` as written in the card."""
    from genoprep.dna.io import read_token_array

    path = tmp_path / "t.npy"
    np.save(path, np.array([[2, 5, 3]], np.int32))
    with pytest.raises(InputError) as caught:
        list(read_token_array(path, "dnabert", 7))
    assert str(caught.value) == f"{path}: input.tokens.k: DNABERT k must be one of (3, 4, 5, 6), not 7"


# --- eighth round (issue 16): sample(20) of the new hash order ---


def test_empty_table_and_empty_kmer_list_are_exact_lines(tmp_path: Path):
    """A table file of 0 bytes has no header row; a k-mer line with no k-mer is an empty sequence."""
    from genoprep.dna.io import kmers_to_sequence

    path = tmp_path / "t.tsv"
    path.write_bytes(b"")
    with pytest.raises(InputError) as caught:
        list(read_sequence_table(path))
    assert str(caught.value) == f"{path}: empty file (no header row)"
    with pytest.raises(InputError) as caught:
        kmers_to_sequence([], "k.txt", "line 3")
    assert str(caught.value) == "k.txt: line 3: empty sequence"


def test_npy_preamble_is_exactly_its_declared_size_or_refused():
    """A v1.0 .npy preamble declares its header length (2 bytes after the 8-byte magic) and must be
    exactly 128 bytes; a dict repr too long for that (118 bytes of room, newline included) is refused.
    Shapes of n ones and one int of 1..6 digits, so the repr takes every length from 110 to 125:
    numpy's own header reader is the reference for the ones that fit."""
    import io

    from genoprep.dna.artifacts import _npy_preamble

    dtype = np.dtype("<i4")
    seen = set()
    for n in range(1, 40):
        for width in range(1, 7):
            shape = (*[1] * n, 10 ** (width - 1))
            text = repr({"descr": "<i4", "fortran_order": False, "shape": shape})
            if not 110 <= len(text) <= 125 or len(text) in seen:
                continue
            seen.add(len(text))
            if len(text) + 1 > 118:
                with pytest.raises(ValueError, match="npy header too long"):
                    _npy_preamble(shape, dtype)
                continue
            preamble = _npy_preamble(shape, dtype)
            assert len(preamble) == 128 and preamble.endswith(b"\n")
            stream = io.BytesIO(preamble)
            assert np.lib.format.read_magic(stream) == (1, 0)
            assert np.lib.format.read_array_header_1_0(stream) == (shape, False, dtype)
            assert stream.tell() == 128
    assert seen == set(range(110, 126))


def _plain_fasta(text: str) -> list[tuple[int, str, str]]:
    """A plain FASTA reading of LF-only text without spaces: (number, header, sequence) per record."""
    records: list[tuple[int, str, str]] = []
    for line in text.split("\n"):
        if line.startswith(">"):
            records.append((len(records) + 1, line[1:].rstrip(), ""))
        elif records:
            number, header, sequence = records[-1]
            records[-1] = (number, header, sequence + line)
    return records


@pytest.mark.parametrize(
    "text",
    [
        "\n\n>a x\nACGT\nAC\n>b\nGGGT\nT\n>c\nACGTACGTAC\nNNAC\n",  # blank lines before the first header
        ">a\nACGT\n>b\nGG\n>c\nT",  # the last line without LF
        ">a\nAC\nGT\n\n>b\nG\n\n",  # blank lines inside and after records
    ],
)
def test_fasta_pieces_equal_a_plain_reading_at_every_block_size(text: str, tmp_path: Path):
    """The piece reader cuts its input in blocks of 1..len+1 bytes (so a block boundary falls on
    every byte, also right before a record's "\\n>" and inside headers) and its records in pieces
    of 1, 3 or many bases: the pieces of each record join to a plain reading of the text, start at
    0 and follow each other, and each record's last piece (possibly empty) alone is flagged last."""
    from genoprep.dna.io import iter_fasta_pieces

    path = tmp_path / "s.fa"
    path.write_text(text, encoding="utf-8")
    expected = _plain_fasta(text)
    for block_bytes in range(1, len(text) + 2):
        for piece_bases in (1, 3, 1000):
            got: list[tuple[int, str, str]] = []
            ended = True  # the previous piece was its record's last
            for number, header, start, sequence, last in iter_fasta_pieces(path, piece_bases, block_bytes=block_bytes):
                if ended:
                    assert start == 0 and number == len(got) + 1
                    got.append((number, header, ""))
                assert start == len(got[-1][2]), (block_bytes, piece_bases)
                got[-1] = (number, header, got[-1][2] + sequence.decode("ascii"))
                ended = last
            assert ended and got == expected, (block_bytes, piece_bases)
