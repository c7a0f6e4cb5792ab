"""genoprep.textio on files built here byte by byte (kills the mutants `make mutants` found surviving).

The expected texts are what the bytes written say (gzip from the standard library, BGZF from
Biopython's writer); the error lines are the documented one-line forms.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from genoprep.errors import InputError
from genoprep.textio import check_readable, guess_table_format, is_gzip, iter_lines, open_binary, open_text


def write(path: Path, data: bytes, *, compress: bool = False) -> Path:
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def test_is_gzip_by_magic_bytes_not_name(tmp_path: Path) -> None:
    assert is_gzip(write(tmp_path / "plain.gz", b"a\tb\n")) is False
    assert is_gzip(write(tmp_path / "x.txt", b"a\n", compress=True)) is True
    assert is_gzip(write(tmp_path / "half", b"\x1f\x00rest")) is False  # one magic byte only
    assert is_gzip(write(tmp_path / "empty", b"")) is False


def test_bgzf_is_gzip_and_reads_whole(tmp_path: Path) -> None:
    bgzf = pytest.importorskip("Bio.bgzf")
    path = tmp_path / "x.vcf.bgz"
    # more than one BGZF block (64 KiB each): 200,000 bytes of numbered lines
    payload = b"".join(b"line %06d\n" % i for i in range(18_182))
    with bgzf.BgzfWriter(str(path), "wb") as handle:
        handle.write(payload)
    assert is_gzip(path)
    with open_binary(path) as handle:
        assert handle.read() == payload


def test_open_text_bom_crlf_and_cr_in_gzip(tmp_path: Path) -> None:
    path = write(tmp_path / "t.tsv.gz", "\ufeffgene\tcount\r\nACTB\t3\rGAPDH\t4\n".encode(), compress=True)
    with open_text(path) as handle:
        assert handle.read() == "gene\tcount\nACTB\t3\nGAPDH\t4\n"


def test_open_binary_plain_file_is_untouched(tmp_path: Path) -> None:
    data = b"\xef\xbb\xbfa\r\nb"
    with open_binary(write(tmp_path / "raw", data)) as handle:
        assert handle.read() == data


def test_large_gzip_reads_every_byte(tmp_path: Path) -> None:
    # 3 MiB, not a multiple of the 1 MiB buffer, incompressible enough to need many reads
    data = bytes((i * 7919 + (i >> 9)) % 251 for i in range(3 * (1 << 20) + 12345))
    with open_binary(write(tmp_path / "big.gz", data, compress=True)) as handle:
        assert handle.read() == data


def test_truncated_gzip_is_one_line(tmp_path: Path) -> None:
    whole = gzip.compress(b"x" * 1000 + bytes(range(256)) * 40)
    path = write(tmp_path / "cut.gz", whole[: len(whole) // 2])
    with pytest.raises(InputError) as caught, open_text(path) as handle:
        handle.read()
    assert str(caught.value) == f"{path}: truncated gzip: the file ends before the compressed stream does"


def test_bad_crc_is_damaged_gzip(tmp_path: Path) -> None:
    whole = bytearray(gzip.compress(b"hello world\n" * 50))
    whole[-8] ^= 0xFF  # the CRC32 of the trailer
    path = write(tmp_path / "crc.gz", bytes(whole))
    with pytest.raises(InputError) as caught, open_binary(path) as handle:
        handle.read()
    assert str(caught.value).startswith(f"{path}: damaged gzip: ")
    assert "CRC" in str(caught.value)


def test_iter_lines_numbers_bom_and_line_ends(tmp_path: Path) -> None:
    path = write(tmp_path / "l.txt", "\ufeffa\r\nb\n\ufeffc\r\n\nlast".encode(), compress=True)
    # the BOM is removed from line 1 only; CRLF/LF ends removed; an empty line kept; no final end
    assert list(iter_lines(path)) == [(1, "a"), (2, "b"), (3, "\ufeffc"), (4, ""), (5, "last")]


def test_iter_lines_empty_file(tmp_path: Path) -> None:
    assert list(iter_lines(write(tmp_path / "e.txt", b""))) == []


def test_iter_lines_names_the_line_of_bad_bytes(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.txt", b"ok\nfine\na\xffb\nnever\n")
    lines = iter_lines(path)
    assert next(lines) == (1, "ok") and next(lines) == (2, "fine")
    with pytest.raises(InputError) as caught:
        next(lines)
    assert str(caught.value) == f"{path}: line 3: not UTF-8 text (invalid start byte at byte 1)"


def test_check_readable_each_problem(tmp_path: Path) -> None:
    missing = tmp_path / "missing.tsv"
    with pytest.raises(InputError) as caught:
        check_readable(missing)
    assert str(caught.value) == f"{missing}: no such file"

    link = tmp_path / "link.tsv"
    os.symlink(tmp_path / "gone.tsv", link)
    with pytest.raises(InputError) as caught:
        check_readable(link)
    assert str(caught.value) == f"{link}: a symbolic link to {tmp_path / 'gone.tsv'}, which does not exist"

    folder = tmp_path / "dir"
    folder.mkdir()
    with pytest.raises(InputError) as caught:
        check_readable(folder)
    assert str(caught.value) == f"{folder}: a folder, but a file is expected here"
    with pytest.raises(InputError) as caught:
        open_binary(folder)
    assert str(caught.value) == f"{folder}: a folder, but a file is expected here"

    afile = write(tmp_path / "f.tsv", b"x\n")
    with pytest.raises(InputError) as caught:
        check_readable(afile, folder=True)
    assert str(caught.value) == f"{afile}: a file, but a folder is expected here"

    check_readable(afile)  # fine: no error
    check_readable(folder, folder=True)
    good_link = tmp_path / "good.tsv"
    os.symlink(afile, good_link)
    check_readable(good_link)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file: permission cannot be denied")
def test_check_readable_permission(tmp_path: Path) -> None:
    path = write(tmp_path / "secret.tsv", b"x\n")
    path.chmod(0)
    with pytest.raises(InputError) as caught:
        check_readable(path)
    assert str(caught.value) == f"{path}: not readable (permission denied)"


@pytest.mark.parametrize(
    ("name", "declared", "content", "expected"),
    [
        ("a.csv", "tsv", b"x,y\n", "tsv"),  # the card's word wins
        ("a.tsv", "csv", b"x\ty\n", "csv"),
        ("a.tsv", "xlsx", b"x,y\n", "tsv"),  # not a word the card may say: ignored
        ("A.CSV.GZ", None, b"x\ty\n", "csv"),  # name, case-insensitive, .gz ignored
        ("a.tsv.bgz", None, b"x,y\n", "tsv"),
        ("a.txt", None, b"x,y\n", "tsv"),
        ("a.tab", None, b"x,y\n", "tsv"),
        ("a.data", None, b"x,y\tz\n", "tsv"),  # neither: a tab in the first line -> tsv
        ("a.data", None, b"x,y,z\n", "csv"),  # a comma, no tab -> csv
    ],
)
def test_guess_table_format(tmp_path: Path, name: str, declared: str | None, content: bytes, expected: str) -> None:
    assert guess_table_format(write(tmp_path / name, content), declared) == expected


@pytest.mark.parametrize("content", [b"", b"header\nx,y\n", b"one"])
def test_guess_table_format_undecidable(tmp_path: Path, content: bytes) -> None:
    # only the first line counts: a comma on line 2 does not decide it
    path = write(tmp_path / "a.data", content)
    with pytest.raises(InputError) as caught:
        guess_table_format(path)
    assert str(caught.value) == (
        f"{path}: cannot tell csv from tsv (no tab or comma in the first line); give the format in the card"
    )


def test_iter_lines_strips_only_line_ends(tmp_path: Path) -> None:
    # a TSV row with an empty last field keeps its tab; trailing spaces and letters are data
    path = write(tmp_path / "t.tsv", b"a\tb\t\r\nc \nAX\n")
    assert list(iter_lines(path)) == [(1, "a\tb\t"), (2, "c "), (3, "AX")]


def test_check_readable_permission_denied_as_the_os_says(tmp_path: Path, monkeypatch) -> None:
    """As root every file is readable, so the OS's answer is stood in for: ``os.access(path, R_OK)``
    says no for this one file (the same branch a non-root user's unreadable file takes)."""
    path = write(tmp_path / "secret.tsv", b"x\n")
    real = os.access

    def access(name, mode, *args, **kwargs) -> bool:
        if os.fspath(name) == str(path) and mode == os.R_OK:
            return False
        return real(name, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)
    with pytest.raises(InputError) as caught:
        check_readable(path)
    assert (caught.value.source, caught.value.record, caught.value.problem) == (
        str(path),
        None,
        "not readable (permission denied)",
    )
    assert str(caught.value) == f"{path}: not readable (permission denied)"
