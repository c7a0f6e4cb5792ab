"""Opening input files: one answer for compression, text encoding and line ends.

Every reader of every modality opens its inputs through these functions, so that a gzip
or BGZF file, a UTF-8 byte-order mark (spreadsheet exports) and CRLF line ends are handled
the same way everywhere, and compression damage gets its own one-line message.
"""

from __future__ import annotations

import gzip
import io
import os
import zlib
from collections.abc import Iterator
from typing import IO

from genoprep.errors import InputError

StrPath = str | os.PathLike[str]

GZIP_MAGIC = b"\x1f\x8b"
BOM = "\ufeff"


def is_gzip(path: StrPath) -> bool:
    """True when the file starts with the gzip magic bytes (gzip and BGZF alike)."""
    with open(path, "rb") as handle:
        return handle.read(2) == GZIP_MAGIC


class _CheckedGzip(io.RawIOBase):
    """A gzip stream whose damage (truncation, bad CRC, garbage) becomes one InputError line."""

    def __init__(self, path: StrPath) -> None:
        self._path = os.fspath(path)
        self._inner = gzip.open(path, "rb")  # noqa: SIM115 - closed by close()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def, override]
        try:
            data = self._inner.read(len(buffer))
        except EOFError:
            raise InputError(self._path, "truncated gzip: the file ends before the compressed stream does") from None
        except (gzip.BadGzipFile, zlib.error) as err:
            raise InputError(self._path, f"damaged gzip: {err}") from None
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._inner.close()
        super().close()


def open_binary(path: StrPath) -> IO[bytes]:
    """The file's bytes, decompressed when it is gzip/BGZF (damage raises :class:`InputError`)."""
    check_readable(path)
    if is_gzip(path):
        return io.BufferedReader(_CheckedGzip(path), buffer_size=1 << 20)
    return open(path, "rb")


def open_text(path: StrPath) -> IO[str]:
    """The file as text: gzip/BGZF decompressed, UTF-8 with a leading BOM removed, CRLF/CR read as LF.

    Bytes that are not UTF-8 raise :class:`InputError` naming the file when they are read
    (see :func:`iter_lines` for the line number).
    """
    return io.TextIOWrapper(open_binary(path), encoding="utf-8-sig", newline=None)


def iter_lines(path: StrPath) -> Iterator[tuple[int, str]]:
    """``(line number from 1, line without its end)`` for each line of a text file.

    Encoding errors name the line: ``<file>: line 12: not UTF-8 text (...)``.
    """
    number = 0
    with open_binary(path) as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise InputError(
                    os.fspath(path), f"not UTF-8 text ({err.reason} at byte {err.start})", record=f"line {number}"
                ) from None
            if number == 1:
                line = line.removeprefix(BOM)
            yield number, line.rstrip("\r\n")


def check_readable(path: StrPath, *, folder: bool = False) -> None:
    """One line when ``path`` is missing, a dangling link, the wrong kind (file vs folder) or unreadable."""
    name = os.fspath(path)
    if os.path.islink(name) and not os.path.exists(name):
        raise InputError(name, f"a symbolic link to {os.readlink(name)}, which does not exist")
    if not os.path.exists(name):
        raise InputError(name, "no such file")
    if folder and not os.path.isdir(name):
        raise InputError(name, "a file, but a folder is expected here")
    if not folder and os.path.isdir(name):
        raise InputError(name, "a folder, but a file is expected here")
    if not os.access(name, os.R_OK):
        raise InputError(name, "not readable (permission denied)")


def guess_table_format(path: StrPath, declared: str | None = None) -> str:
    """``csv`` or ``tsv``: the card's word if given, else the file name, else the first line.

    ``.csv`` → csv; ``.tsv``, ``.tab``, ``.txt`` → tsv (``.gz`` ignored). A name that says
    neither is decided by the first line: a tab makes it tsv, else a comma csv.
    """
    if declared in ("csv", "tsv"):
        return declared
    name = os.fspath(path).lower().removesuffix(".gz").removesuffix(".bgz")
    if name.endswith(".csv"):
        return "csv"
    if name.endswith((".tsv", ".txt", ".tab")):
        return "tsv"
    for _, line in iter_lines(path):
        if "\t" in line:
            return "tsv"
        if "," in line:
            return "csv"
        break
    raise InputError(
        os.fspath(path), "cannot tell csv from tsv (no tab or comma in the first line); give the format in the card"
    )
