"""Strict test mode: missing real data or reference tools fail under GENOPREP_STRICT_TESTS=1, skip otherwise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

PROBE = """
import pytest
from tests.conftest import require_tool, shared_data

def test_data():
    shared_data("no", "such", "file.h5ad")

def test_tool():
    require_tool("genoprep-no-such-tool")

def test_own_skip_of_missing_data():
    pytest.skip("shared data not found: x.vcf.gz")

@pytest.mark.skipif(True, reason="bgzip not installed")
def test_skipif_marker():
    pass

def test_other_skip():
    pytest.skip("needs a GPU")

def test_present():
    assert require_tool("sh").endswith("/sh")
"""


def run_probe(tmp_path: Path, strict: str | None) -> str:
    (tmp_path / "test_probe.py").write_text(PROBE)
    env = {k: v for k, v in os.environ.items() if k != "GENOPREP_STRICT_TESTS"}
    if strict is not None:
        env["GENOPREP_STRICT_TESTS"] = strict
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "tests.conftest",
            "-rA",
            "-q",
            "--rootdir",
            str(tmp_path),
            "-c",
            os.devnull,
            str(tmp_path / "test_probe.py"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
    )
    return done.stdout + done.stderr


@pytest.mark.parametrize("strict", [None, "0"])
def test_users_get_skips_with_reasons(tmp_path: Path, strict: str | None) -> None:
    out = run_probe(tmp_path, strict)
    assert "1 passed, 5 skipped" in out, out
    assert "real test data not found:" in out and "genoprep-no-such-tool not installed" in out


def test_strict_mode_fails_missing_data_and_tools_only(tmp_path: Path) -> None:
    out = run_probe(tmp_path, "1")
    # a skipif marker is decided at setup: it shows as an error, which fails the run too
    assert "3 failed, 1 passed, 1 skipped, 1 error" in out, out
    for name in ("test_data", "test_tool", "test_own_skip_of_missing_data"):
        assert f"FAILED test_probe.py::{name}" in out
    assert "ERROR test_probe.py::test_skipif_marker" in out
    assert "strict mode (GENOPREP_STRICT_TESTS=1): real test data not found" in out
    assert "SKIPPED [1] test_probe.py" in out and "needs a GPU" in out  # other skips stay skips


def test_ci_runs_make_test_in_strict_mode() -> None:
    lines = [
        line.strip()
        for line in (REPO / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert "export GENOPREP_STRICT_TESTS=1" in lines
    assert lines[-1] == "make test"
