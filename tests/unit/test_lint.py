"""Style a tool enforces: ruff check and ruff format over the repository (the rules are in pyproject.toml)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, require_tool

RUFF = Path(REPO / ".venv" / "bin" / "ruff")


def _ruff() -> str:
    return str(RUFF) if RUFF.exists() else require_tool("ruff")


@pytest.mark.parametrize("command", [["check", "."], ["format", "--check", "."]], ids=["check", "format"])
def test_ruff_is_clean(command: list[str]) -> None:
    done = subprocess.run([_ruff(), *command], cwd=REPO, capture_output=True, text=True, check=False)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]


def test_scripts_need_no_noqa() -> None:
    """The per-file ignores in pyproject.toml cover the adapters' ``snakemake`` global and late imports."""
    marked = [p.name for p in sorted((REPO / "scripts").glob("*.py")) if "# noqa" in p.read_text(encoding="utf-8")]
    assert marked == []
