"""genoprep.textio on a gzip file larger than its read buffer (1 MiB), against Python's gzip module.

Killer of the mutant ``self._inner.read(len(buffer))`` -> ``read(None)`` in ``_CheckedGzip.readinto``:
reading the whole stream at once cannot fit the caller's buffer once the file is larger than it.
"""

from __future__ import annotations

import gzip
from pathlib import Path

from genoprep.textio import iter_lines, open_binary


def test_gzip_larger_than_the_read_buffer_reads_whole(tmp_path: Path) -> None:
    lines = [f"gene{i}\t{i % 97}\t{i * 7 % 13}" for i in range(200_000)]  # ~3 MiB of text
    text = ("\n".join(lines) + "\n").encode()
    path = tmp_path / "big.tsv.gz"
    path.write_bytes(gzip.compress(text, mtime=0))
    with gzip.open(path, "rb") as reference:
        expected = reference.read()
    assert len(expected) > 2 * (1 << 20)
    with open_binary(path) as handle:
        assert handle.read() == expected
    assert [line for _, line in iter_lines(path)] == lines
