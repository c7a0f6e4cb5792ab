"""Style a tool enforces: ruff check and ruff format over the repository (the rules are in pyproject.toml)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, require_tool

RUFF = Path(REPO / ".venv" / "bin" / "ruff")


def _ruff() -> str:
    return str(RUFF) if RUFF.exists() else require_tool("ruff")


# The lead applies `ruff check --fix` and `ruff format` to the files of every branch after
# merging them all; until then parts of the repository are not formatted yet.
@pytest.mark.xfail(strict=False, reason="the repository-wide ruff pass comes after the branches are merged")
@pytest.mark.parametrize("command", [["check", "."], ["format", "--check", "."]], ids=["check", "format"])
def test_ruff_is_clean(command: list[str]) -> None:
    done = subprocess.run([_ruff(), *command], cwd=REPO, capture_output=True, text=True, check=False)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]


#: files already under the ruff pass (the shared layer's)
CLEAN = [
    "genoprep/cards.py",
    "genoprep/tables.py",
    "genoprep/jsonio.py",
    "genoprep/provenance.py",
    "genoprep/runtime.py",
    "genoprep/locking.py",
    "genoprep/textio.py",
    "genoprep/filters.py",
    "genoprep/options.py",
    "genoprep/errors.py",
    "scripts/write_card.py",
    "tests/conftest.py",
    "bench/bench_cards.py",
]


def test_shared_layer_is_ruff_clean() -> None:
    check = subprocess.run([_ruff(), "check", *CLEAN], cwd=REPO, capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout[-3000:]
    fmt = subprocess.run([_ruff(), "format", "--check", *CLEAN], cwd=REPO, capture_output=True, text=True, check=False)
    assert fmt.returncode == 0, fmt.stdout[-3000:]
    assert "# noqa" not in (REPO / "scripts" / "write_card.py").read_text()  # the per-file ignores cover scripts
