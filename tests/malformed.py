"""Makers of malformed (and awkward but valid) input files, shared by the modality catalogues.

Each maker takes the test's folder and returns the path it wrote, so that a catalogue can list
``(case id, maker, ..., expected record, expected problem)`` rows and build each file inside the
test's own ``tmp_path``. :func:`assert_one_line_error` checks the contract every catalogue checks:
one line naming the file, the record when one is expected, and the problem.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable
from pathlib import Path

from genoprep.errors import InputError

#: the UTF-8 byte order mark a spreadsheet export starts with
BOM = b"\xef\xbb\xbf"

Maker = Callable[[Path], Path]


def write_file(name: str, data: bytes) -> Maker:
    """A file ``name`` holding exactly ``data``."""

    def make(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(data)
        return path

    return make


def truncated_gzip(name: str, payload: bytes) -> Maker:
    """The first half of the gzip of ``payload`` (a download cut short): no end-of-stream marker."""

    def make(folder: Path) -> Path:
        data = gzip.compress(payload, mtime=0)
        path = folder / name
        path.write_bytes(data[: len(data) // 2])
        return path

    return make


def dangling_symlink(name: str) -> Maker:
    """A symbolic link ``name`` to a file that does not exist."""

    def make(folder: Path) -> Path:
        path = folder / name
        os.symlink(folder / f"nowhere-{name}", path)
        return path

    return make


def directory(name: str) -> Maker:
    """A folder where a file is expected (named like a file)."""

    def make(folder: Path) -> Path:
        path = folder / name
        path.mkdir()
        return path

    return make


def assert_one_line_error(error: InputError, path: Path, record: str | None, problem: str) -> None:
    """One line; the source is the input file; the record starts as expected; the problem is said."""
    message = str(error)
    assert "\n" not in message, message
    assert error.source == str(path), message
    if record is not None:
        assert error.record is not None and error.record.startswith(record), message
    assert problem in error.problem, message
