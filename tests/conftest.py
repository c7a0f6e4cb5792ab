"""Shared fixtures: where the real data are, and running the workflow through its contract."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
#: the real test data: ../shared/data beside the checkout, or the folder GENOPREP_SHARED_DATA names
SHARED_DATA = Path(os.environ.get("GENOPREP_SHARED_DATA") or REPO.parent / "shared" / "data")


def shared_data(*parts: str) -> Path:
    """A path under ../shared/data, or skip the test (with the reason) when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real test data not found: {path} (the ../shared/data folder beside the checkout)")
    return path


def write_card(folder: Path, card: dict) -> Path:
    """Write a dataset card into ``folder`` as <dataset_id>.yaml."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{card['dataset_id']}.yaml"
    path.write_text(yaml.safe_dump(card, sort_keys=False), encoding="utf-8")
    return path


def run_workflow(datasets: Path | str, results: Path | str, *extra: str, cores: int = 2,
                 check: bool = True) -> subprocess.CompletedProcess[str]:
    """``snakemake --cores N --config datasets=DIR results=OUT`` from the repository root."""
    command = [sys.executable, "-m", "snakemake", "--cores", str(cores),
               "--config", f"datasets={datasets}", f"results={results}", *extra]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, env=env)
    if check and done.returncode != 0:
        raise AssertionError(f"snakemake failed ({done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-6000:]}")
    return done


def artifact_bytes(folder: Path) -> dict[str, bytes]:
    """Every file of a dataset's output folder except logs and benchmarks (timings differ)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.relative_to(folder).parts[0] not in ("logs", "benchmarks")}
