"""The invocation contract: default run, card folders, bad input, reproducibility, lint."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, artifact_bytes, leftovers, run_workflow, shared_data, write_card

pytestmark = pytest.mark.e2e


def test_default_run_twice_gives_identical_bytes(tmp_path: Path) -> None:
    """The embedded default (demo cards, generated input) into two output folders."""
    for name in ("a", "b"):
        done = subprocess.run(
            [sys.executable, "-m", "snakemake", "--cores", "2", "--config", f"results={tmp_path / name}"],
            cwd=REPO,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr[-3000:]
    first, second = artifact_bytes(tmp_path / "a" / "pbmc_demo"), artifact_bytes(tmp_path / "b" / "pbmc_demo")
    assert {"card.yaml", "processed.h5ad", "X.npy", "features.tsv", "obs.tsv", "qc.json"} <= set(first)
    assert {"geneformer.parquet", "rank.parquet", "tokens.json"} <= set(first)  # the demo card asks for tokens
    assert first == second
    card = yaml.safe_load(first["card.yaml"])
    assert card["computed"]["n_cells"] > 100 and card["computed"]["n_features"] == 2000
    assert (tmp_path / "a" / "pbmc_demo" / "qc_metrics.png").read_bytes()[:4] == b"\x89PNG"
    # card.yaml lists every file of the dataset folder, the figure included, and verify agrees
    folder = tmp_path / "a" / "pbmc_demo"
    figures = {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in folder.rglob("*.png")
    }
    assert {"qc_metrics.png", "report_scrna_hvg.png", "report_scrna_embedding.png", "report_scrna_tokens.png"} <= set(
        figures
    )
    assert card["computed"]["figures_sha256"] == figures
    verify = subprocess.run(
        [sys.executable, "-m", "genoprep.cli", "verify", str(tmp_path / "a")],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 0, verify.stdout

    report = tmp_path / "report.html"
    done = subprocess.run(
        [sys.executable, "-m", "snakemake", "--report", str(report), "--config", f"results={tmp_path / 'a'}"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "qc_metrics.png" in report.read_text(errors="replace")


def test_completed_card_regenerates_the_dataset_byte_for_byte(tmp_path: Path) -> None:
    source = shared_data("scrna", "pbmc_10x_v3_chr21_filtered_feature_bc_matrix")
    write_card(
        tmp_path / "cards",
        {
            "dataset_id": "v3",
            "name": "10x v3 chr21",
            "modality": "scrna",
            "input": {"path": str(source), "format": "10x_mtx"},
            "params": {"min_genes": 10, "max_genes": None, "n_top_genes": 100},
        },
    )
    run_workflow(tmp_path / "cards", tmp_path / "first")
    (tmp_path / "again").mkdir()
    shutil.copy(tmp_path / "first" / "v3" / "card.yaml", tmp_path / "again" / "v3.yaml")
    run_workflow(tmp_path / "again", tmp_path / "second")
    assert artifact_bytes(tmp_path / "first" / "v3") == artifact_bytes(tmp_path / "second" / "v3")


def test_invalid_card_fails_before_any_job(tmp_path: Path) -> None:
    card = write_card(
        tmp_path / "cards",
        {"dataset_id": "bad", "name": "bad", "modality": "scrna", "input": {"path": "x.xlsx", "format": "xlsx"}},
    )
    done = run_workflow(tmp_path / "cards", tmp_path / "out", check=False)
    assert done.returncode != 0
    expected = f"genoprep: invalid dataset card: {card}: input.format: 'xlsx' is not one of"
    assert any(line.startswith(expected) for line in (done.stdout + done.stderr).splitlines())
    assert not (tmp_path / "out").exists()


def test_sha256_mismatch_is_refused(tmp_path: Path) -> None:
    source = shared_data("scrna", "pbmc68k_reduced_700cells_rawcounts_celltype_labels.h5ad")
    write_card(
        tmp_path / "cards",
        {
            "dataset_id": "x",
            "name": "x",
            "modality": "scrna",
            "input": {"path": str(source), "format": "h5ad", "sha256": "0" * 64},
        },
    )
    done = run_workflow(tmp_path / "cards", tmp_path / "out", check=False)
    assert done.returncode != 0
    assert f"genoprep: error: {source}: sha256 is ff201f7c" in done.stderr
    dataset = tmp_path / "out" / "x"
    assert leftovers(dataset) == [], "artifacts left after a refused input"


def test_scaled_matrix_is_refused_with_one_line(tmp_path: Path) -> None:
    source = shared_data("scrna", "pbmc68k_reduced_scanpy2018_scaled_notcounts.h5ad")
    write_card(
        tmp_path / "cards",
        {
            "dataset_id": "scaled",
            "name": "scaled",
            "modality": "scrna",
            "input": {"path": str(source), "format": "h5ad"},
        },
    )
    done = run_workflow(tmp_path / "cards", tmp_path / "out", check=False)
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if line.startswith("genoprep: error:")]
    assert len(lines) == 1, done.stderr[-3000:]
    assert lines[0].startswith(f"genoprep: error: {source}: cell ")
    assert "is negative: the matrix looks scaled (z-scored), not raw counts" in lines[0]
    assert leftovers(tmp_path / "out" / "scaled") == []


def test_workflow_is_lint_clean_and_snakefmt_formatted() -> None:
    lint = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], cwd=REPO, capture_output=True, text=True)
    assert lint.returncode == 0 and "Congratulations" in lint.stdout + lint.stderr, lint.stdout + lint.stderr
    snakefmt = Path(sys.executable).with_name("snakefmt")
    check = subprocess.run([str(snakefmt), "--check", "Snakefile", "rules/"], cwd=REPO, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
