"""Fault test: kill -9 the workflow in the middle of a heavy rule, unlock, rerun, compare bytes.

The 1000 Genomes chr21 VCF (2504 samples) is read in small record chunks, so the workflow
spends its time in ``variants_chunk`` jobs. The killed run is started in its own process
group and SIGKILLed (the whole group: Snakemake and its running job scripts) as soon as a
chunk job has started (its log exists) but not finished (no benchmark yet). Then
``snakemake --unlock`` and a rerun with ``--rerun-incomplete`` must give every artifact
byte for byte as a clean run into another folder.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, artifact_bytes, run_workflow, shared_data, write_card

pytestmark = pytest.mark.e2e

DATASET = "chr21_fault"
RECORDS_PER_CHUNK = 40  # 600 records -> 15 chunk jobs


def _card(vcf: Path) -> dict:
    return {
        "dataset_id": DATASET,
        "name": "1000 Genomes chr21 (fault test)",
        "modality": "variants",
        "input": {"path": str(vcf)},
        "organism": "Homo sapiens",
        "params": {"records_per_chunk": RECORDS_PER_CHUNK},
    }


def _chunk_running(dataset_out: Path) -> bool:
    """A chunk job has started (its log exists) and not finished (its benchmark is not written)."""
    for log in (dataset_out / "logs").glob("variants_chunk_*.log"):
        if not (dataset_out / "benchmarks" / log.with_suffix(".tsv").name).exists():
            return True
    return False


def _kill_during_a_chunk(cards: Path, results: Path, timeout: float = 300) -> None:
    command = [
        sys.executable, "-m", "snakemake", "--cores", "2",
        "--config", f"datasets={cards}", f"results={results}",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    with open(results.parent / "killed_run.out", "wb") as sink:
        proc = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            deadline = time.monotonic() + timeout
            while not _chunk_running(results / DATASET):
                assert proc.poll() is None, f"the workflow ended ({proc.returncode}) before a chunk job was seen"
                assert time.monotonic() < deadline, "no chunk job started in time"
                time.sleep(0.05)
            os.killpg(proc.pid, signal.SIGKILL)  # the process group started above, nothing else
        finally:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == -signal.SIGKILL


def test_kill_unlock_rerun_gives_the_clean_bytes(tmp_path: Path) -> None:
    vcf = shared_data("vcf", "1kg_phase3_chr21_2504samples_600variants_phased.vcf.gz")
    cards = tmp_path / "cards"
    write_card(cards, _card(vcf))
    killed, clean = tmp_path / "killed", tmp_path / "clean"

    _kill_during_a_chunk(cards, killed)
    assert not (killed / DATASET / "dosage.npy").exists(), "the run finished before the kill"

    refused = run_workflow(cards, killed, check=False)
    assert refused.returncode != 0 and "lock" in (refused.stdout + refused.stderr).lower()
    run_workflow(cards, killed, "--unlock")
    run_workflow(cards, killed, "--rerun-incomplete")
    run_workflow(cards, clean)

    got, want = artifact_bytes(killed / DATASET), artifact_bytes(clean / DATASET)
    assert {"dosage.npy", "variants.parquet", "samples.tsv", "qc.json"} <= set(want)
    assert sorted(got) == sorted(want)
    for name, data in want.items():
        assert got[name] == data, f"{name} differs after kill -9, unlock and rerun"
    assert not (killed / ".work" / DATASET / "chunks").is_dir() or not any(
        (killed / ".work" / DATASET / "chunks").iterdir()
    ), "chunk files left behind"
