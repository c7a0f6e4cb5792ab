"""Long records in pieces: the piece reader, windows, and k-mer counts across piece boundaries.

References are written here plainly (whole-record reader + slicing, a Python k-mer count),
and every step's artifact must be byte-identical whether records are read in pieces of
1 Mbp or of 7 bases.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml
from scipy import sparse

from genoprep.cards import load_card
from genoprep.dna.io import iter_fasta_bytes, iter_fasta_pieces, read_pieces
from genoprep.dna.options import ReadOptions, SchemeOptions
from genoprep.dna.steps import kmer_counts, tokens_fixed, tokens_variable
from genoprep.dna.windows import record_windows, window_starts
from genoprep.errors import InputError
from tests.conftest import shared_data


def _card(tmp_path: Path, body: dict) -> dict:
    path = tmp_path / "card.yaml"
    path.write_text(yaml.safe_dump({"dataset_id": "d", "name": "d", "modality": "dna", **body}), encoding="utf-8")
    return load_card(path).data


def _long_fasta(path: Path, seed: int = 3) -> dict[str, str]:
    """Records of 0.1-5 kb: soft-masked runs, N runs, IUPAC codes, 60- and 7-base lines, CRLF in one."""
    rng = np.random.default_rng(seed)
    records: dict[str, str] = {}
    chunks: list[str] = []
    for number, (length, width) in enumerate([(5003, 60), (97, 7), (2400, 60), (1, 60), (3100, 61)]):
        seq = bytearray(np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, length)].tobytes())
        if length > 500:
            seq[100:400] = seq[100:400].lower()
            seq[1000 : 1000 + 250] = b"N" * 250
            seq[17] = ord("R")
        text = seq.decode()
        name = f"rec{number} label={'pos' if number % 2 else 'neg'}"
        records[name] = text
        end = "\r\n" if number == 2 else "\n"
        chunks.append(f">{name}{end}" + "".join(text[i : i + width] + end for i in range(0, length, width)))
    path.write_text("".join(chunks), encoding="ascii", newline="")
    return records


def test_pieces_join_to_the_records_of_the_whole_record_reader(tmp_path: Path) -> None:
    fasta = tmp_path / "long.fa"
    _long_fasta(fasta)
    whole = [(number, header, sequence) for number, header, sequence in iter_fasta_bytes(fasta)]
    for piece_bases in (1, 7, 64, 1000, 1 << 20):
        for block_bytes in (13, 4096):
            joined: dict[int, bytes] = {}
            for number, header, start, sequence, last in iter_fasta_pieces(fasta, piece_bases, block_bytes=block_bytes):
                assert len(sequence) <= piece_bases
                assert start == len(joined.get(number, b""))  # consecutive, no overlap
                joined[number] = joined.get(number, b"") + sequence
                assert header == whole[number - 1][1]
                if last:
                    assert joined[number] == whole[number - 1][2]
            assert len(joined) == len(whole)


def test_real_fasta_in_pieces_is_the_same_records() -> None:
    fasta = shared_data("dna", "lady_slipper_orchids_its_94seqs_genus_labels.fasta")
    whole = [sequence for _, _, sequence in iter_fasta_bytes(fasta)]
    joined: list[bytes] = []
    for _, _, start, sequence, _ in iter_fasta_pieces(fasta, 7):
        if start == 0:
            joined.append(b"")
        joined[-1] += sequence
    assert joined == whole and len(whole) == 94


def test_a_bad_letter_is_reported_at_its_position_in_the_record(tmp_path: Path) -> None:
    fasta = tmp_path / "bad.fa"
    fasta.write_text(">ok\nACGT\n>bad one\n" + "ACGTACGTAC\n" * 3 + "ACGXA\n")
    with pytest.raises(InputError) as whole:
        list(iter_fasta_bytes(fasta))
    with pytest.raises(InputError) as pieces:
        list(iter_fasta_pieces(fasta, 7))
    assert str(pieces.value) == str(whole.value)
    assert "'X' at position 34" in str(pieces.value) and "record 2 (bad one)" in str(pieces.value)


@pytest.mark.parametrize(("window", "stride"), [(10, 10), (10, 3), (1, 1), (64, 64), (5000, 1)])
def test_windows_are_plain_slices(tmp_path: Path, window: int, stride: int) -> None:
    fasta = tmp_path / "long.fa"
    records = _long_fasta(fasta)
    card = _card(tmp_path, {"input": {"path": "long.fa"}})
    options = ReadOptions.from_card(card)
    expected = []
    for name, sequence in records.items():
        start = 0
        while True:  # the rule written independently of window_starts
            expected.append(
                (f"{name}:{start + 1}-{min(start + window, len(sequence))}", sequence[start : start + window])
            )
            if start + window >= len(sequence):
                break
            start += stride
    for piece_bases in (7, 1 << 20):
        pieces = read_pieces(options.inputs, [fasta], options.columns, options.keep, piece_bases)
        got = [(row.id, row.sequence.decode()) for row in record_windows(pieces, window, stride)]
        assert got == expected
    assert window_starts(25, 10, 5) == [0, 5, 10, 15] and window_starts(3, 10, 5) == [0]


def _python_kmer_counts(sequence: str, k: int) -> Counter[str]:
    upper = sequence.upper()
    return Counter(upper[i : i + k] for i in range(len(upper) - k + 1) if set(upper[i : i + k]) <= set("ACGT"))


@pytest.mark.parametrize("k", [1, 3, 6])
def test_kmers_across_piece_boundaries_are_counted_once(tmp_path: Path, k: int) -> None:
    fasta = tmp_path / "long.fa"
    records = _long_fasta(fasta)
    card = _card(tmp_path, {"input": {"path": "long.fa"}, "params": {"kmer_counts": {"k": k}}})
    options = SchemeOptions.from_card(card, "kmer_counts")
    matrix = {}
    for piece_bases in (7, 1 << 20):
        npz = tmp_path / f"k{piece_bases}.npz"
        kmer_counts(options, [fasta], npz, tmp_path / "names.tsv", piece_bases=piece_bases)
        matrix[piece_bases] = sparse.load_npz(npz).toarray()
    names = (tmp_path / "names.tsv").read_text().split()[3::2]
    counted = [_python_kmer_counts(seq, k) for seq in records.values()]
    expected = np.array([[counts[name] for name in names] for counts in counted])
    assert (matrix[7] == expected).all() and (matrix[1 << 20] == expected).all()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("scheme", "settings"),
    [
        ("char", {"max_len": 16}),
        ("char", {"max_len": 16, "truncation": "left"}),
        ("char", {"max_len": 16, "stride": 9}),
        ("hyenadna", {"max_len": 12, "truncation": "left"}),
        ("hyenadna", {"max_len": 12, "stride": 11}),
        ("dnabert", {"k": 6, "window": 50, "stride": 25}),
        ("nucleotide_transformer", {"k": 6, "window": 40}),
        ("kmer_counts", {"k": 4, "canonical": True}),
    ],
)
def test_artifacts_do_not_depend_on_the_piece_size(tmp_path: Path, scheme: str, settings: dict) -> None:
    fasta = tmp_path / "long.fa"
    records = _long_fasta(fasta)
    # label from the header, and a filter that drops the 1-base record (decided at the end of each record)
    entry = {"path": "long.fa", "label_regex": r"label=(\w+)"}
    card = _card(tmp_path, {"input": entry, "params": {"tokenizers": [scheme], scheme: settings, "min_length": 2}})
    options = SchemeOptions.from_card(card, scheme)
    digests = []
    for piece_bases in (7, 1 << 20):
        out = tmp_path / f"{piece_bases}.out"
        if scheme == "kmer_counts":
            kmer_counts(options, [fasta], out, tmp_path / "n.tsv", piece_bases=piece_bases)
        elif scheme in ("char", "hyenadna"):
            tokens_fixed(options, [fasta], out, piece_bases=piece_bases)
        else:
            tokens_variable(options, [fasta], out, piece_bases=piece_bases)
        digests.append(_digest(out))
    assert digests[0] == digests[1]
    if scheme in ("dnabert", "nucleotide_transformer"):
        table = pq.read_table(out).to_pylist()
        kept = [name for name, seq in records.items() if len(seq) >= 2]
        assert {row["id"].rsplit(":", 1)[0] for row in table} == set(kept)
        assert all(row["label"] == row["id"].split("label=")[1].split(":")[0] for row in table)
        assert sum(row["length"] for row in table if row["id"].startswith("rec0 ")) == sum(
            min(40 if scheme != "dnabert" else 50, 5003 - s)
            for s in window_starts(5003, *((50, 25) if scheme == "dnabert" else (40, 40)))
        )
    if scheme == "char" and "stride" not in settings:
        rows = np.load(out)
        truncation = settings.get("truncation", "right")
        kept = [seq for seq in records.values() if len(seq) >= 2]
        ends = [seq[:16] if truncation == "right" else seq[-16:] for seq in kept]
        codes = {"A": 0, "C": 1, "G": 2, "T": 3}
        assert rows.tolist() == [[codes.get(c, 4) for c in end.upper()] + [5] * (16 - len(end)) for end in ends]


def test_a_stride_longer_than_the_window_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.fa").write_text(">a\nACGT\n")
    with pytest.raises(InputError, match=r"params\.char\.stride: stride 600 is longer than the window \(512 bases\)"):
        _card(tmp_path, {"input": {"path": "a.fa"}, "params": {"char": {"stride": 600}}})
    with pytest.raises(InputError, match=r"params\.dnabert\.stride: stride needs a window"):
        _card(tmp_path, {"input": {"path": "a.fa"}, "params": {"tokenizers": ["dnabert"], "dnabert": {"stride": 6}}})


def test_ingest_in_pieces_gives_the_same_obs_and_qc(tmp_path: Path) -> None:
    from genoprep.dna.options import IngestOptions
    from genoprep.dna.steps import ingest

    fasta = tmp_path / "long.fa"
    records = _long_fasta(fasta)
    first = next(iter(records.values()))
    with open(fasta, "a", encoding="ascii") as handle:  # a soft-masked copy of record 0: a duplicate
        handle.write(">copy label=neg\n" + "".join(first[i : i + 50].lower() + "\n" for i in range(0, len(first), 50)))
    card = _card(tmp_path, {"input": {"path": "long.fa", "label_regex": r"label=(\w+)"}, "params": {"min_length": 2}})
    outputs = []
    for piece_bases in (7, 1 << 20):
        obs, qc = tmp_path / f"obs{piece_bases}.tsv", tmp_path / f"qc{piece_bases}.json"
        report = ingest(IngestOptions.from_card(card), [fasta], obs, qc, piece_bases=piece_bases)
        outputs.append((obs.read_bytes(), qc.read_bytes()))
    assert outputs[0] == outputs[1]
    assert report["n_sequences"] == 5 and report["duplicates"]["examples"] == [["rec0 label=neg", "copy label=neg"]]
    rows = [line.split("\t") for line in outputs[0][0].decode().splitlines()[1:]]
    upper = first.upper()
    gc = (upper.count("G") + upper.count("C")) / sum(upper.count(b) for b in "ACGT")
    assert rows[0][:3] == ["rec0 label=neg", "neg", "5003"] and float(rows[0][3]) == pytest.approx(gc, abs=1e-15)
