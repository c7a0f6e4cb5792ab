"""run_step: one line on the terminal for input errors and for a full disk, the traceback only in the log."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from genoprep.errors import InputError
from genoprep.runtime import _disk_full, disk_full_line
from tests.conftest import REPO


def run_script(tmp_path: Path, body: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "step.py"
    script.write_text(textwrap.dedent(body), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, env=env)


def test_full_disk_with_a_file_name_is_one_line(tmp_path: Path) -> None:
    done = run_script(
        tmp_path,
        f"""
        import errno, os
        from genoprep.runtime import run_step

        def step():
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), {str(tmp_path / "out" / "X.npy")!r})

        run_step({str(tmp_path / "step.log")!r}, step)
    """,
    )
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    free = shutil.disk_usage(tmp_path).free / 2**20
    assert lines[0].startswith(
        f"genoprep: error: {tmp_path / 'out' / 'X.npy'}: cannot be written: no space left on the device ("
    )
    reported = float(lines[0].rsplit("(", 1)[1].split(" MiB")[0].replace(",", ""))
    assert abs(reported - free) < 512  # the free space of the file's disk (the folder does not exist: its parent)
    assert f"MiB free in {tmp_path})" in lines[0]
    log = (tmp_path / "step.log").read_text()
    assert "Traceback" in log and lines[0] in log


def test_full_disk_inside_a_library_names_the_jobs_output(tmp_path: Path) -> None:
    """A write() error carries no file name (numpy, h5py): the Snakemake job's outputs are named."""
    done = run_script(
        tmp_path,
        f"""
        import errno, os, types
        from genoprep.runtime import run_step

        snakemake = types.SimpleNamespace(output=[{str(tmp_path / "a.h5ad")!r}, {str(tmp_path / "b.json")!r}])

        def step():
            try:
                raise OSError(errno.EDQUOT, os.strerror(errno.EDQUOT))
            except OSError as err:
                raise RuntimeError("Can't write data (file write failed)") from err

        run_step({str(tmp_path / "step.log")!r}, step)
    """,
    )
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(
        f"genoprep: error: {tmp_path / 'a.h5ad'} (or another output: {tmp_path / 'b.json'}): "
        f"cannot be written: the disk quota is exceeded ("
    )


def test_other_errors_stay_internal_errors(tmp_path: Path) -> None:
    done = run_script(
        tmp_path,
        f"""
        from genoprep.runtime import run_step

        def step():
            raise OSError(errno.EACCES, "Permission denied", "x")

        import errno
        run_step({str(tmp_path / "step.log")!r}, step)
    """,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("genoprep: internal error (PermissionError:")
    assert len(done.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    "err, found",
    [
        (OSError(errno.ENOSPC, "No space left on device"), True),
        (OSError("Can't write data (file write failed: errno = 28, error message = 'No space left on device')"), True),
        (OSError(errno.EIO, "Input/output error"), False),
        (ValueError("No space left on device"), False),  # not an OSError
    ],
)
def test_disk_full_recognised_by_errno_or_by_the_systems_words(err: Exception, found: bool) -> None:
    assert (_disk_full(err) is err) is found


def test_disk_full_line_without_outputs() -> None:
    assert disk_full_line(OSError(errno.ENOSPC, "x"), []).startswith("an output file: cannot be written: no space")


def test_input_error_is_one_line_whatever_the_data() -> None:
    err = InputError("dir\nname/x.csv", "bad value 'a\r\nb'", record="key\u2028two")
    text = str(err)
    assert text.splitlines() == [text]
    assert text == "dir\\nname/x.csv: key\\u2028two: bad value 'a\\r\\nb'"
    assert err.source == "dir\nname/x.csv" and err.record == "key\u2028two"  # the fields keep the raw values
