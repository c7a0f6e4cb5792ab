"""genoprep.atomic: a file is written whole under its name, or not at all."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from genoprep.atomic import Partial, partial_path, written_whole


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_the_partial_name_repeats_the_extension_so_numpy_writes_exactly_it(tmp_path: Path) -> None:
    assert partial_path("out/x/tokens.parquet") == "out/x/tokens.parquet.partial.parquet"
    assert partial_path(Path("a/b.npz")) == "a/b.npz.partial.npz"
    assert partial_path("noext") == "noext.partial"
    with written_whole(tmp_path / "rows.npz") as partial:
        np.savez(partial, a=np.arange(3))  # numpy appends .npz to a name without it
    with written_whole(tmp_path / "block.npy") as partial:
        np.save(partial, np.eye(2))
    assert names(tmp_path) == ["block.npy", "rows.npz"]
    with np.load(tmp_path / "rows.npz") as data:
        assert data["a"].tolist() == [0, 1, 2]
    assert np.load(tmp_path / "block.npy").tolist() == [[1.0, 0.0], [0.0, 1.0]]


def test_an_error_inside_leaves_neither_the_target_nor_the_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "t.npy"
    with pytest.raises(RuntimeError, match="disk full"), written_whole(target) as partial:
        Path(partial).write_bytes(b"half")
        raise RuntimeError("disk full")
    assert names(tmp_path) == []


def test_a_failed_rewrite_keeps_the_previous_complete_file(tmp_path: Path) -> None:
    target = tmp_path / "t.tsv"
    target.write_text("old, complete\n")
    with pytest.raises(KeyboardInterrupt), written_whole(target) as partial:
        Path(partial).write_text("new, half")
        raise KeyboardInterrupt  # BaseException too: an interrupted job must not leave its partial file
    assert target.read_text() == "old, complete\n" and names(tmp_path) == ["t.tsv"]
    with written_whole(target) as partial:
        Path(partial).write_text("new, complete\n")
    assert target.read_text() == "new, complete\n" and names(tmp_path) == ["t.tsv"]


def test_a_killed_writer_leaves_one_partial_file_that_the_next_run_replaces(tmp_path: Path) -> None:
    target = tmp_path / "tokens.parquet"
    code = (
        "import os, sys\n"
        "from genoprep.atomic import Partial\n"
        "p = Partial(sys.argv[1])\n"
        "open(p.path, 'wb').write(b'PAR1 half')\n"
        "os._exit(9)  # killed: no discard, no commit\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    for _ in range(2):  # two killed attempts: still one partial file, not one per process
        done = subprocess.run([sys.executable, "-c", code, str(target)], env=env, check=False)
        assert done.returncode == 9
    assert names(tmp_path) == ["tokens.parquet.partial.parquet"]
    partial = Partial(target)
    with open(partial.path, "wb") as handle:  # the next run opens the same name for writing: truncated
        handle.write(b"whole")
    partial.commit()
    assert names(tmp_path) == ["tokens.parquet"] and target.read_bytes() == b"whole"
    Partial(target).discard()  # nothing to discard: no error
    assert names(tmp_path) == ["tokens.parquet"]


def test_the_dna_token_writer_leaves_no_partial_file_after_an_error(tmp_path: Path) -> None:
    from genoprep.dna.artifacts import TOKENS_SCHEMA
    from genoprep.dna.parquet_writer import TokenParquetWriter

    with pytest.raises(RuntimeError, match="stop"), TokenParquetWriter(tmp_path / "t.parquet", TOKENS_SCHEMA):
        assert names(tmp_path) == ["t.parquet.partial.parquet"]  # written under the partial name meanwhile
        raise RuntimeError("stop")
    assert names(tmp_path) == []
