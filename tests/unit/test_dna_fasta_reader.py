"""The fast bytes FASTA reader gives exactly Biopython's records (real files and fuzzed text)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genoprep.dna.io import iter_fasta_bytes, read_fasta, read_fasta_biopython
from genoprep.errors import InputError
from tests.conftest import SHARED_DATA

DNA = SHARED_DATA / "dna"
REAL = [
    "ecoli_sigma_promoters_81bp_positive_2860.fasta",
    "ecoli_nonpromoters_81bp_negative_2860.fasta",
    "lady_slipper_orchids_its_94seqs_genus_labels.fasta",
]


def _fast(path: Path, block_bytes: int) -> list[tuple[int, str, str]]:
    return [(n, h, s.decode("ascii")) for n, h, s in iter_fasta_bytes(path, block_bytes=block_bytes)]


def _reference(path: Path) -> list[tuple[int, str, str]]:
    return [(r.number, r.id, r.sequence) for r in read_fasta_biopython(path)]


@pytest.mark.parametrize("name", REAL)
@pytest.mark.parametrize("block_bytes", [7, 4096, 8 << 20])
def test_real_files_equal_biopython(name: str, block_bytes: int) -> None:
    path = DNA / name
    if not path.exists():
        pytest.skip(f"real test data not found: {path}")
    expected = _reference(path)
    assert len(expected) in (2860, 94)
    assert _fast(path, block_bytes) == expected


def test_gzip_and_plain_read_alike(tmp_path: Path) -> None:
    text = b">r1 x\r\nACGT\r\nac\r\n>r2\rNNRY\r>r3\n  \nA C G\t\n"
    plain, packed = tmp_path / "a.fa", tmp_path / "a.fa.gz"
    plain.write_bytes(text)
    packed.write_bytes(gzip.compress(text, mtime=0))
    expected = [(1, "r1 x", "ACGTac"), (2, "r2", "NNRY"), (3, "r3", "ACG")]
    assert _reference(plain) == expected
    assert _fast(plain, 3) == expected == _fast(packed, 5)
    assert [r.sequence for r in read_fasta(packed)] == ["ACGTac", "NNRY", "ACG"]


def _outcome(reader, path: Path) -> object:
    try:
        return list(reader(path))
    except InputError:
        return "InputError"


_PIECES = st.sampled_from(
    [
        "A",
        "c",
        "G",
        "t",
        "N",
        "r",
        "ACGTACGT",
        ">",
        ">h",
        "\n",
        "\r\n",
        "\r",
        " ",
        "\t",
        "\u3000",
        "é",
        "x",
        "-",
        "\n>id",
        "\n>id \u3000\n",
        "\n\n",
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pieces=st.lists(_PIECES, max_size=40), block_bytes=st.sampled_from([1, 2, 3, 5, 16, 1 << 20]))
def test_fuzzed_text_equals_biopython(tmp_path: Path, pieces: list[str], block_bytes: int) -> None:
    path = tmp_path / "fuzz.fa"
    path.write_bytes("".join(pieces).encode("utf-8"))
    expected = _outcome(read_fasta_biopython, path)
    fast = _outcome(lambda p: ((n, h, s.decode()) for n, h, s in iter_fasta_bytes(p, block_bytes=block_bytes)), path)
    if expected != "InputError":
        expected = [(r.number, r.id, r.sequence) for r in expected]
    assert fast == expected
