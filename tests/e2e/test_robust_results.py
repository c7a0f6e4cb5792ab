"""The results folder: one writer at a time, no writing through links that leave it, runs from another folder."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from genoprep.locking import LOCK_NAME
from genoprep.verify import FAIR_FILES
from tests.conftest import REPO, artifact_bytes, from_other_folder, run_workflow, write_card

pytestmark = pytest.mark.e2e

FASTA = ">s1 a\nACGTACGTACGTAACC\n>s2 b\nGGGCCCAATTGGCCAA\n>s3 a\nTTTTACGTAAACCCGG\n"


def tiny_dna(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "seqs.fa").write_text(FASTA)
    write_card(
        tmp_path / "cards",
        {
            "dataset_id": "d",
            "name": "tiny DNA",
            "modality": "dna",
            "input": {"path": str(tmp_path / "data" / "seqs.fa")},
        },
    )
    return tmp_path / "cards"


def genoprep_lines(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in (done.stdout + done.stderr).splitlines() if line.startswith("genoprep:")]


def test_second_concurrent_run_on_one_results_folder_is_refused(tmp_path: Path) -> None:
    cards, results = tiny_dna(tmp_path), tmp_path / "results"
    first = subprocess.Popen(
        [sys.executable, "-m", "snakemake", "--cores", "1", "--config", f"datasets={cards}", f"results={results}"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and first.poll() is None:
            lock = results / LOCK_NAME
            if lock.exists() and lock.read_text().startswith(f"pid {first.pid} "):
                break
            time.sleep(0.05)
        else:
            pytest.fail(f"the first run did not take the lock: {first.communicate()[1][-3000:]}")
        first.send_signal(signal.SIGSTOP)  # the first run holds the lock, whatever this machine's speed
        try:
            second = from_other_folder(tmp_path / "elsewhere", cards, results)
            dry = from_other_folder(tmp_path / "elsewhere", cards, results, "-n")
        finally:
            first.send_signal(signal.SIGCONT)
        _, err = first.communicate(timeout=600)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, err[-3000:]
    assert second.returncode != 0
    lines = genoprep_lines(second)
    assert lines == [
        f"genoprep: error: {results}: another genoprep run is writing to this results folder "
        f"(pid {first.pid} in {REPO}); wait for it to end, or use another results folder"
    ], lines
    assert "Traceback" not in second.stdout + second.stderr
    assert dry.returncode == 0, dry.stderr[-3000:]  # a dry run needs no lock
    # once the first run has ended, the second one runs (and finds nothing to do)
    again = from_other_folder(tmp_path / "elsewhere", cards, results)
    assert again.returncode == 0, again.stderr[-3000:]
    assert (results / "d" / "card.yaml").exists()


def test_dataset_folder_linked_outside_results_is_refused(tmp_path: Path) -> None:
    cards, results = tiny_dna(tmp_path), tmp_path / "results"
    outside = tmp_path / "precious"
    outside.mkdir()
    (outside / "card.yaml").write_text("keep me\n")
    results.mkdir()
    (results / "d").symlink_to(outside)
    done = run_workflow(cards, results, cores=1, check=False)
    assert done.returncode != 0
    assert genoprep_lines(done) == [
        f"genoprep: error: {results / 'd'}: a symbolic link to {outside}, outside the "
        f"results folder {results}; genoprep does not write through it (remove the "
        f"link, or choose another results folder)"
    ]
    assert sorted(p.name for p in outside.iterdir()) == ["card.yaml"]
    assert (outside / "card.yaml").read_text() == "keep me\n"


def test_artifact_linked_outside_results_is_refused_and_a_rerun_is_identical(tmp_path: Path) -> None:
    cards, results = tiny_dna(tmp_path), tmp_path / "results"
    run_workflow(cards, results, cores=1)
    before = artifact_bytes(results / "d")
    victim = tmp_path / "precious.npy"
    victim.write_bytes(b"keep me")
    name = next(n for n in sorted(before) if n.endswith(".npy"))
    (results / "d" / name).unlink()
    (results / "d" / name).symlink_to(victim)
    done = run_workflow(cards, results, "--forceall", cores=1, check=False)
    assert done.returncode != 0
    assert genoprep_lines(done) == [
        f"genoprep: error: {results / 'd' / name}: a symbolic link to {victim}, outside "
        f"the results folder {results}; genoprep does not write through it (remove the "
        f"link, or choose another results folder)"
    ]
    assert victim.read_bytes() == b"keep me"
    (results / "d" / name).unlink()
    # Snakemake does not remake a deleted file whose dependants are up to date: force the dataset
    run_workflow(cards, results, "--forceall", cores=1)
    assert artifact_bytes(results / "d") == before


def test_verify_a_finished_run_and_a_tampered_artifact(tmp_path: Path) -> None:
    cards, results = tiny_dna(tmp_path), tmp_path / "results"
    run_workflow(cards, results, cores=1)
    card = yaml.safe_load((results / "d" / "card.yaml").read_text())
    listed = set(card["computed"]["artifacts_sha256"]) | set(card["computed"].get("figures_sha256", {}))
    on_disk = {p.relative_to(results / "d").as_posix() for p in (results / "d").rglob("*") if p.is_file()}
    made_from_the_card = {"card.yaml", *FAIR_FILES}  # listed in fair.sha256, not in the card
    assert listed == {
        n for n in on_disk if n not in made_from_the_card and n.split("/")[0] not in ("logs", "benchmarks")
    }
    verify = [sys.executable, "-m", "genoprep.cli", "verify", str(results)]
    done = subprocess.run(verify, cwd=REPO, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().endswith(": OK"), done.stdout
    victim = results / "d" / "obs.tsv"
    victim.write_bytes(victim.read_bytes() + b"x\n")
    done = subprocess.run(verify, cwd=REPO, capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert done.stderr.splitlines()[0].startswith(f"genoprep: {victim}: differs: sha256 is "), done.stderr
