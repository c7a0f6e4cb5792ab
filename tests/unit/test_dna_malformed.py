"""A catalogue of malformed DNA inputs: each is refused by dna_ingest with one line naming the
file (and record) and the problem, and writes nothing else; awkward but good inputs (BOM,
CRLF, gzip without a .gz name) read with clean ids. The workflow-level outcome (exit status,
one ``genoprep:`` line, nothing left in the results folder) is in tests/e2e/test_dna_real.py."""

from __future__ import annotations

import gzip
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from genoprep.cards import load_card
from genoprep.dna.io import SequenceFilter
from genoprep.dna.options import IngestOptions, check_card
from genoprep.dna.steps import ingest
from genoprep.errors import InputError
from tests.malformed import BOM, assert_one_line_error, dangling_symlink, directory, truncated_gzip, write_file


def _options(entries: list[dict], columns: dict | None = None, **params) -> IngestOptions:
    entries = [{"unmatched_label": "error", **e} for e in entries]
    return IngestOptions(
        inputs=tuple(entries),
        columns=columns or {"sequence": "sequence"},
        min_length=params.get("min_length", 1),
        max_n_fraction=params.get("max_n_fraction", 1.0),
        dataset_id="d",
        sha256=tuple(e.get("sha256") for e in entries),
        min_fraction_kept=params.get("min_fraction_kept", 0.5),
    )


# (case id, file maker, entry fields, table columns, expected record or None, expected problem)
CATALOGUE = [
    ("empty-file", write_file("e.fa", b""), {}, None, None, "no sequences in the file"),
    ("blank-lines-only", write_file("b.fa", b"\n \n\t\n"), {}, None, None, "no sequences in the file"),
    ("empty-gzip", write_file("e.fa.gz", gzip.compress(b"", mtime=0)), {}, None, None, "no sequences in the file"),
    ("truncated-gzip", truncated_gzip("t.fa.gz", b">a\n" + b"ACGT" * 5000 + b"\n"), {}, None, None, "truncated gzip"),
    ("csv-named-fasta", write_file("x.fa", b"sequence,label\nACGT,1\n"), {}, None, None, "not FASTA"),
    ("fasta-named-csv", write_file("x.csv", b">a\nACGT\n"), {}, None, "header", "no column 'sequence'"),
    (
        "extra-field",
        write_file("t.csv", b"sequence,label\nACGT,1\nACGT,1,oops\n"),
        {},
        None,
        "row 2",
        "3 fields, but the header has 2",
    ),
    ("short-row", write_file("t.tsv", b"sequence\tlabel\nACGT\n"), {}, None, "row 1", "1 fields, but the header has 2"),
    ("blank-row", write_file("t.tsv", b"sequence\tlabel\nACGT\t1\n\nACGT\t0\n"), {}, None, "row 2", "empty row"),
    ("header-only-table", write_file("t.tsv", b"sequence\tlabel\n"), {}, None, None, "header but no data rows"),
    ("duplicate-ids", write_file("d.fa", b">a\nACGT\n>b\nAC\n>a\nGG\n"), {}, None, "record 3", "duplicate id 'a'"),
    ("non-iupac", write_file("n.fa", b">a\nACGT\n>b\nACXGT\n"), {}, None, "record 2 (b)", "'X' at position 3"),
    ("gap", write_file("g.fa", b">a\nAC-GT\n"), {}, None, "record 1 (a)", "'-' at position 3"),
    ("empty-sequence", write_file("s.fa", b">a\n>b\nACGT\n"), {}, None, "record 1 (a)", "empty sequence"),
    ("latin1-header", write_file("l.fa", b">caf\xe9\nACGT\n"), {}, None, "record 1", "not UTF-8"),
    ("latin1-table", write_file("l.tsv", b"sequence\tlabel\nACGT\tcaf\xe9\n"), {}, None, None, "not UTF-8"),
    ("missing-file", lambda f: f / "absent.fa", {}, None, None, "no such file"),
    ("folder", directory("folder.fa"), {}, None, None, "a folder, but a file is expected"),
    ("dangling-symlink", dangling_symlink("gone.fa"), {}, None, None, "a symbolic link to"),
    (
        "empty-id",
        write_file("i.csv", b"name,sequence\nx,ACGT\n,GG\n"),
        {},
        {"sequence": "sequence", "id": "name"},
        "row 2",
        "empty id",
    ),
    ("broken-kmers", write_file("k.tsv", b"sequence\tlabel\nACG CGT TTA\t1\n"), {}, None, "row 1", "does not overlap"),
    (
        "unmatched-header",
        write_file("h.fa", b">x C.a\nAC\n>y none\nGG\n"),
        {"label_regex": r"\s([A-Z])\."},
        None,
        "record 2 (y none)",
        "does not match label pattern",
    ),
    (
        "label-not-in-map",
        write_file("m.fa", b">x C.a\nAC\n>y Q.b\nGG\n"),
        {"label_regex": r"\s([A-Z])\.", "label_map": {"C": "Cyp"}},
        None,
        "record 2 (y Q.b)",
        "not in the label map",
    ),
    (
        "invalid-label-regex",
        write_file("r.fa", b">x\nAC\n"),
        {"label_regex": "(unclosed"},
        None,
        "label_regex",
        "is not a valid regular expression",
    ),
    ("sha256-mismatch", write_file("c.fa", b">x\nAC\n"), {"sha256": "0" * 64}, None, None, "but the card says"),
]


@pytest.mark.parametrize(
    ("make", "entry", "columns", "record", "problem"), [c[1:] for c in CATALOGUE], ids=[c[0] for c in CATALOGUE]
)
def test_malformed_input_is_one_line_naming_file_record_and_problem(
    tmp_path: Path, make: Callable[[Path], Path], entry: dict, columns: dict | None, record: str | None, problem: str
) -> None:
    path = make(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(InputError) as caught:
        ingest(_options([entry], columns), [path], out / "obs.tsv", out / "qc.json")
    assert_one_line_error(caught.value, path, record, problem)
    assert not (out / "qc.json").exists()  # qc.json is written last; obs.tsv is removed by Snakemake


def test_duplicate_id_across_two_files_names_the_second_file_and_the_first(tmp_path: Path) -> None:
    a = write_file("a.fa", b">s1\nAC\n")(tmp_path)
    b = write_file("b.fa", b">s2\nGG\n>s1\nTT\n")(tmp_path)
    with pytest.raises(InputError) as caught:
        ingest(_options([{}, {}]), [a, b], tmp_path / "obs.tsv", tmp_path / "qc.json")
    assert str(caught.value) == (
        f"{b}: record 2: duplicate id 's1' (first seen as record 1 of {a}); ids must be unique"
    )


def test_catastrophic_label_regex_fails_in_seconds_with_one_line(tmp_path: Path) -> None:
    # ^(a|aa)+$ on 'aaa...a!' backtracks exponentially (2^60 paths): without a bound it never ends.
    path = write_file("evil.fa", b">" + b"a" * 60 + b"!\nACGT\n")(tmp_path)
    started = time.monotonic()
    with pytest.raises(InputError) as caught:
        ingest(_options([{"label_regex": r"^(a|aa)+$"}]), [path], tmp_path / "obs.tsv", tmp_path / "qc.json")
    assert time.monotonic() - started < 60  # a hang would be stopped by nothing else
    assert caught.value.source == str(path) and caught.value.record.startswith("record 1")
    assert "took longer than 1 s on this header (catastrophic backtracking" in caught.value.problem


def test_invalid_label_regex_is_refused_at_card_load(tmp_path: Path) -> None:
    (tmp_path / "a.fa").write_text(">x\nAC\n")
    (tmp_path / "c.yaml").write_text(
        "dataset_id: c\nname: c\nmodality: dna\n"
        "inputs:\n  - {path: a.fa, label: ok}\n  - {path: a.fa, label_regex: '[z-a]'}\n"
    )
    path = tmp_path / "c.yaml"
    with pytest.raises(InputError) as caught:  # the card loader runs check_card (cards.MODALITY_CHECKS)
        load_card(path)
    assert caught.value.record == "inputs[1].label_regex"
    assert str(caught.value).startswith(f"{path}: inputs[1].label_regex: label_regex '[z-a]' is not a valid")
    data = yaml.safe_load(path.read_text())
    with pytest.raises(InputError) as direct:
        check_card(data, str(path))
    assert str(direct.value) == str(caught.value)


# ------------------------------------------------------------------ awkward but good


def _clean_ids(tmp_path: Path, path: Path, columns: dict | None = None) -> list[list[str]]:
    ingest(_options([{}], columns), [path], tmp_path / "obs.tsv", tmp_path / "qc.json")
    return [line.split("\t")[:2] for line in (tmp_path / "obs.tsv").read_text(encoding="utf-8").splitlines()[1:]]


@pytest.mark.parametrize("newline", [b"\n", b"\r\n"], ids=["lf", "crlf"])
def test_table_with_bom_and_crlf_reads_with_clean_ids(tmp_path: Path, newline: bytes) -> None:
    text = b"id,sequence,label\nr1,ACGT,pos\nr2,ggcc,neg\n".replace(b"\n", newline)
    path = write_file("t.csv", BOM + text)(tmp_path)
    columns = {"sequence": "sequence", "id": "id", "label": "label"}
    assert _clean_ids(tmp_path, path, columns) == [["r1", "pos"], ["r2", "neg"]]


def test_fasta_with_bom_crlf_and_gzip_without_gz_name_reads_with_clean_ids(tmp_path: Path) -> None:
    path = write_file("s.fna", gzip.compress(BOM + b">s1 one\r\nAC\r\nGT\r\n>s2\r\nNN\r\n", mtime=0))(tmp_path)
    assert _clean_ids(tmp_path, path) == [["s1 one", ""], ["s2", ""]]


# ------------------------------------------------------------------ the sequence filters, exactly at their thresholds


def test_filters_keep_exactly_at_their_thresholds_and_say_what_they_removed(tmp_path: Path, capsys) -> None:
    # lengths 10, 9, 10, 10; non-ACGT letters 0, 0, 3 (N, R, y: 0.3 exactly), 4 (0.4)
    path = write_file("f.fa", b">at\nACGTACGTAC\n>short\nACGTACGTA\n>n30\nACGTNRyACG\n>n40\nNNNNACGTAC\n")(tmp_path)
    options = _options([{}], min_length=10, max_n_fraction=0.3)
    report = ingest(options, [path], tmp_path / "obs.tsv", tmp_path / "qc.json")
    kept = [line.split("\t")[0] for line in (tmp_path / "obs.tsv").read_text().splitlines()[1:]]
    assert kept == ["at", "n30"]
    assert report["filters"] == [
        {"name": "min_length", "rule": "length >= 10", "before": 4, "after": 3},
        {"name": "max_n_fraction", "rule": "n_fraction <= 0.3", "before": 3, "after": 2},
    ]
    assert "genoprep: d: kept 2 of 4 sequences (min_length -1, max_n_fraction -1)" in capsys.readouterr().err


def test_n_fraction_threshold_is_exact_for_decimal_fractions() -> None:
    # 0.29 * 100 is 28.999999999999996 in binary floating point: a float comparison would drop 29 of 100
    keep = SequenceFilter(min_length=1, max_n_fraction=0.29)
    assert keep.passes_n(29, 100) and not keep.passes_n(30, 100)
    assert SequenceFilter(1, 0.1).passes_n(3, 30) and not SequenceFilter(1, 0.1).passes_n(4, 30)
    assert SequenceFilter(5, 1.0).passes_length(5) and not SequenceFilter(5, 1.0).passes_length(4)


def test_guard_stops_when_the_filters_remove_most_sequences(tmp_path: Path) -> None:
    path = write_file("f.fa", b">a\nACGT\n>b\nAC\n>c\nAG\n>d\nAT\n")(tmp_path)
    with pytest.raises(InputError) as caught:
        ingest(_options([{}], min_length=3), [path], tmp_path / "obs.tsv", tmp_path / "qc.json")
    message = str(caught.value)
    assert message.startswith(
        f"{path}: filters: the filters kept 1 of 4 sequences (25.0%, below "
        "params.min_fraction_kept 0.5); min_length (length >= 3) removed the most: 3 of 4"
    )
    assert "sequence length: median 2," in message
    # exactly at the guard (2 of 4 = 0.5) the run goes on
    path = write_file("g.fa", b">a\nACGT\n>b\nACG\n>c\nAG\n>d\nAT\n")(tmp_path)
    assert ingest(_options([{}], min_length=3), [path], tmp_path / "obs.tsv", tmp_path / "qc.json")["n_sequences"] == 2
