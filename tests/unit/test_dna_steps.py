"""The DNA workflow steps (genoprep.dna.steps) and the DNA card schema, on tiny hand-made files."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse

from genoprep.cards import Card, CardError, load_card
from genoprep.dna.io import input_format, read_inputs
from genoprep.dna.options import FactsOptions, IngestOptions, ReadOptions, SchemeOptions, artifact_names
from genoprep.dna.steps import facts, ingest, kmer_text, tokens_fixed, tokens_variable
from genoprep.dna.steps import kmer_counts as kmer_counts_step
from genoprep.dna.tokenize import (
    char_encode,
    dnabert_encode,
    hyenadna_encode,
    kmer_counts,
    nucleotide_transformer_encode,
)
from genoprep.errors import InputError


def _card(tmp_path: Path, body: dict) -> dict:
    path = tmp_path / "card.yaml"
    path.write_text(yaml.safe_dump({"dataset_id": "d", "name": "d", "modality": "dna", **body}), encoding="utf-8")
    return load_card(path).data


def card_records(card: dict, paths: list[Path], *, as_bytes: bool = False) -> list:
    options = ReadOptions.from_card(card)
    return list(read_inputs(options.inputs, paths, options.columns, options.keep, as_bytes=as_bytes))


def test_schema_defaults_and_artifacts(tmp_path: Path) -> None:
    (tmp_path / "a.fa").write_text(">a\nACGT\n")
    card = _card(tmp_path, {"input": {"path": "a.fa"}})
    params = card["params"]
    assert (params["min_length"], params["max_n_fraction"], params["min_fraction_kept"]) == (1, 1, 0.5)
    assert params["tokenizers"] == ["char", "kmer_counts"]
    assert params["char"] == {"max_len": 512, "truncation": "right", "stride": None}
    assert params["kmer_counts"] == {"k": 3, "canonical": False}
    assert params["dnabert"] == {"k": 6, "window": None, "stride": None}
    assert params["hyenadna"] == {"max_len": 1024, "truncation": "right", "stride": None}
    assert artifact_names(Card(tmp_path, card)) == [
        "obs.tsv",
        "qc.json",
        "tokens_char.npy",
        "kmers_k3.npz",
        "kmers_k3.tsv",
    ]
    every = {
        **card,
        "params": {**params, "tokenizers": ["dnabert", "nucleotide_transformer", "hyenadna", "kmer_tokenize"]},
    }
    assert artifact_names(Card(tmp_path, every)) == [
        "obs.tsv",
        "qc.json",
        "tokens_dnabert.parquet",
        "tokens_nucleotide_transformer.parquet",
        "tokens_hyenadna.npy",
        "tokens_kmer_tokenize.tsv",
    ]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"input": {"path": "a.fa"}, "params": {"tokenizers": ["bpe"]}}, "params.tokenizers[0]"),
        ({"input": {"path": "a.fa"}, "params": {"dnabert": {"k": 7}}}, "params.dnabert.k"),
        ({"input": {"path": "a.fa", "label": "x", "label_regex": "(.)"}}, "input"),
        ({"input": {"path": "a.fa", "format": "genbank"}}, "input.format"),
        ({"inputs": [{"path": "a.fa", "lable": "x"}]}, "inputs[0]"),
    ],
)
def test_schema_refuses_bad_cards(tmp_path: Path, body: dict, field: str) -> None:
    with pytest.raises(CardError) as caught:
        _card(tmp_path, body)
    assert caught.value.record == field


def test_input_format_from_suffix() -> None:
    assert input_format({}, "x.fna.gz") == "fasta" and input_format({}, "x.TSV") == "table"
    assert input_format({"format": "table"}, "x.dat") == "table"
    with pytest.raises(InputError, match="cannot tell the format"):
        input_format({}, "x.gb")


def _write(path: Path, text: str, packed: bool = False) -> Path:
    data = text.encode("utf-8")
    path.write_bytes(gzip.compress(data, mtime=0) if packed else data)
    return path


def test_card_records_labels_from_files_regex_and_table(tmp_path: Path) -> None:
    pos = _write(tmp_path / "pos.fa.gz", ">p1 é\r\nACgt\r\nNN\r\n", packed=True)
    neg = _write(tmp_path / "neg.fasta", ">n1\nTTTT\n")
    card = _card(tmp_path, {"inputs": [{"path": "pos.fa.gz", "label": "yes"}, {"path": "neg.fasta", "label": "no"}]})
    records = card_records(card, [pos, neg])
    assert [(r.id, r.sequence, r.label) for r in records] == [("p1 é", "ACgtNN", "yes"), ("n1", "TTTT", "no")]
    assert [r.sequence for r in card_records(card, [pos, neg], as_bytes=True)] == [b"ACgtNN", b"TTTT"]

    fasta = _write(tmp_path / "g.fa", ">s1 C.alpha\nACGT\n>s2 P.beta\nGGCC\n>s3 other\nA\n")
    card = _card(
        tmp_path,
        {
            "input": {
                "path": "g.fa",
                "label_regex": r"\s([A-Z])\.",
                "label_map": {"C": "Cyp", "P": "Paph"},
                "unmatched_label": "unlabelled",
            }
        },
    )
    assert [r.label for r in card_records(card, [fasta])] == ["Cyp", "Paph", None]
    card["input"]["unmatched_label"] = "error"
    with pytest.raises(InputError, match="record 3 .*does not match label pattern"):
        card_records(card, [fasta])

    table = _write(tmp_path / "t.csv", "name,seq,y\nr1,ACG CGT GTA,1\nr2,ttaa,0\n")
    card = _card(tmp_path, {"input": {"path": "t.csv"}, "columns": {"sequence": "seq", "label": "y", "id": "name"}})
    assert [(r.id, r.sequence, r.label) for r in card_records(card, [table])] == [
        ("r1", "ACGTA", "1"),
        ("r2", "ttaa", "0"),
    ]


def test_ingest_obs_qc_and_leakage(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.fa", ">x1\nACGTNN\n>x2\nacgt\n")
    b = _write(tmp_path / "b.fa", ">y1\nACGT\n>y2\nNNNN\n")
    card = _card(tmp_path, {"inputs": [{"path": "a.fa", "label": "A"}, {"path": "b.fa", "label": "B"}]})
    report = ingest(IngestOptions.from_card(card), [a, b], tmp_path / "obs.tsv", tmp_path / "qc.json")
    with open(tmp_path / "obs.tsv", encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t"))
    assert rows == [
        ["id", "label", "length", "gc", "n_fraction"],
        ["x1", "A", "6", "0.5", repr(2 / 6)],
        ["x2", "A", "4", "0.5", "0.0"],
        ["y1", "B", "4", "0.5", "0.0"],
        ["y2", "B", "4", "", "1.0"],
    ]
    qc = json.loads((tmp_path / "qc.json").read_text())
    assert qc == report
    assert qc["inputs"] == [
        {"file": "a.fa", "label": "A", "n_sequences": 2},
        {"file": "b.fa", "label": "B", "n_sequences": 2},
    ]
    assert qc["class_counts"] == {"A": 2, "B": 2}
    assert qc["duplicates"]["examples"] == [["x2", "y1"]]  # acgt == ACGT after upper-casing
    assert qc["label_conflicts"]["examples"] == [{"ids": ["x2", "y1"], "labels": ["A", "B"]}]


def test_ingest_checks_sha256_and_empty_input(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.fa", ">x\nACGT\n")
    card = _card(tmp_path, {"input": {"path": "a.fa", "sha256": "0" * 64}})
    with pytest.raises(InputError, match="sha256 is"):
        ingest(IngestOptions.from_card(card), [a], tmp_path / "obs.tsv", tmp_path / "qc.json")
    empty = _write(tmp_path / "e.fa", "\n\n")
    card = _card(tmp_path, {"input": {"path": "e.fa"}})
    with pytest.raises(InputError, match="no sequences"):
        ingest(IngestOptions.from_card(card), [empty], tmp_path / "obs.tsv", tmp_path / "qc.json")


def test_token_steps_and_facts(tmp_path: Path) -> None:
    fasta = _write(tmp_path / "s.fa", ">a\nACGTACGTNA\n>b\nttgca\n")
    card = _card(
        tmp_path,
        {
            "input": {"path": "s.fa"},
            "params": {
                "tokenizers": ["char", "kmer_counts", "dnabert", "nucleotide_transformer", "hyenadna", "kmer_tokenize"],
                "char": {"max_len": 8},
                "hyenadna": {"max_len": 8},
                "kmer_counts": {"k": 2},
                "dnabert": {"k": 3},
                "kmer_tokenize": {"k": 4, "stride": 3},
            },
        },
    )
    out = {name: tmp_path / name for name in artifact_names(Card(tmp_path, card))}
    ingest(IngestOptions.from_card(card), [fasta], out["obs.tsv"], out["qc.json"])
    for scheme in ("char", "hyenadna"):
        tokens_fixed(SchemeOptions.from_card(card, scheme), [fasta], out[f"tokens_{scheme}.npy"])
    for scheme in ("dnabert", "nucleotide_transformer"):
        tokens_variable(SchemeOptions.from_card(card, scheme), [fasta], out[f"tokens_{scheme}.parquet"])
    kmer_counts_step(SchemeOptions.from_card(card, "kmer_counts"), [fasta], out["kmers_k2.npz"], out["kmers_k2.tsv"])
    kmer_text(SchemeOptions.from_card(card, "kmer_tokenize"), [fasta], out["tokens_kmer_tokenize.tsv"])

    assert np.load(out["tokens_char.npy"]).tolist() == [[0, 1, 2, 3, 0, 1, 2, 3], [3, 3, 2, 1, 0, 5, 5, 5]]
    assert np.load(out["tokens_hyenadna.npy"]).tolist() == [[7, 8, 9, 10, 7, 8, 9, 1], [4, 4, 10, 10, 9, 8, 7, 1]]
    dnabert = pq.read_table(out["tokens_dnabert.parquet"]).to_pylist()
    assert [row["length"] for row in dnabert] == [10, 5] and dnabert[1]["id"] == "b" and dnabert[1]["label"] is None
    assert dnabert[0]["input_ids"] == dnabert_encode(["ACGTACGTNA"], k=3)[0].tolist()
    matrix = sparse.load_npz(out["kmers_k2.npz"])
    assert matrix.toarray().tolist() == kmer_counts(["ACGTACGTNA", "ttgca"], k=2).tolist()
    assert out["kmers_k2.tsv"].read_text().splitlines()[:3] == ["column\tkmer", "0\tAA", "1\tAC"]
    assert out["tokens_kmer_tokenize.tsv"].read_text().splitlines() == [
        "sequence\tlabel\tid",
        "ACGT TACG GTNA\t\ta",
        "TTGC\t\tb",
    ]

    found = facts(FactsOptions.from_card(card), out["qc.json"], list(out.values()))
    assert found["n_sequences"] == 2 and found["n_bases"] == 15
    tok = found["tokenizers"]
    assert tok["char"]["shape"] == [2, 8] and tok["char"]["n_truncated"] == 1
    assert tok["hyenadna"]["n_truncated"] == 1  # 10 bases > 8 - 1
    assert tok["dnabert"]["vocab_size"] == 5 + 64 and tok["dnabert"]["n_tokens"] == (8 + 2) + (3 + 2)
    assert tok["nucleotide_transformer"]["vocab_size"] == 4107
    assert tok["kmer_counts"]["shape"] == [2, 16] and tok["kmer_counts"]["vocab_size"] == 16
    assert list(tok) == card["params"]["tokenizers"]


_DNA = st.text(alphabet="ACGTNacgtnRY", min_size=0, max_size=60)


@settings(max_examples=60, deadline=None)
@given(st.lists(_DNA, min_size=1, max_size=5), st.integers(2, 40))
def test_bytes_and_str_inputs_tokenize_alike(sequences: list[str], max_len: int) -> None:
    as_bytes = [s.encode("ascii") for s in sequences]
    assert (char_encode(sequences, max_len) == char_encode(as_bytes, max_len)).all()
    assert (hyenadna_encode(sequences, max_len) == hyenadna_encode(as_bytes, max_len)).all()
    a, b = nucleotide_transformer_encode(sequences), nucleotide_transformer_encode(as_bytes)
    assert a.values.tolist() == b.values.tolist() and a.offsets.tolist() == b.offsets.tolist()
    a, b = dnabert_encode(sequences, k=3), dnabert_encode(as_bytes, k=3)
    assert a.values.tolist() == b.values.tolist() and a.offsets.tolist() == b.offsets.tolist()
    # id ranges of the published vocabularies
    assert char_encode(as_bytes, max_len).min() >= 0 and char_encode(as_bytes, max_len).max() <= 5
    assert b.values.min() >= 1 and b.values.max() <= 4 + 4**3
    assert a.lengths.tolist() == [max(len(s) - 3 + 1, 0) + 2 for s in sequences]


def test_variable_tokens_reader_thread_passes_errors_and_stops(tmp_path: Path) -> None:
    """The Parquet steps read their batches on a thread (genoprep.prefetch.prefetched): a bad record read
    there is the caller's one-line InputError, rows keep their order across batches, and the
    thread is gone when the caller stops early (an endless input is not read to its end)."""
    import itertools
    import threading
    from contextlib import closing

    from genoprep.dna import artifacts
    from genoprep.prefetch import prefetched

    good = "".join(f">r{i}\n{'ACGT' * (i + 1)}\n" for i in range(6))
    fasta = _write(tmp_path / "bad.fa", good + ">r6\nACGTX\n>r7\nACGT\n")
    card = _card(tmp_path, {"input": {"path": "bad.fa"}, "params": {"tokenizers": ["nucleotide_transformer"]}})
    options = SchemeOptions.from_card(card, "nucleotide_transformer")
    with pytest.raises(InputError, match=r"record 7 \(r6\).*'X' at position 5"):
        artifacts.write_variable_tokens(
            read_inputs(options.inputs, [fasta], options.columns, as_bytes=True),
            tmp_path / "bad.parquet",
            "nucleotide_transformer",
            options.settings,
            batch_bases=10,  # several batches: the error comes from the reader thread mid-file
        )
    assert not [t for t in threading.enumerate() if t.name == "dna-reader"]

    fasta = _write(tmp_path / "good.fa", good)
    artifacts.write_variable_tokens(
        read_inputs(options.inputs, [fasta], options.columns, as_bytes=True),
        tmp_path / "good.parquet",
        "nucleotide_transformer",
        options.settings,
        batch_bases=10,
    )
    table = pq.read_table(tmp_path / "good.parquet")
    assert table.column("id").to_pylist() == [f"r{i}" for i in range(6)]
    assert pq.ParquetFile(tmp_path / "good.parquet").metadata.num_row_groups == 6
    expected = nucleotide_transformer_encode([("ACGT" * (i + 1)).encode() for i in range(6)])
    assert table.column("input_ids").to_pylist() == [row.tolist() for row in expected.to_list()]

    with closing(prefetched(itertools.count(), 1, "dna-reader")) as numbers:
        assert list(itertools.islice(numbers, 3)) == [0, 1, 2]
    assert not [t for t in threading.enumerate() if t.name == "dna-reader"]
