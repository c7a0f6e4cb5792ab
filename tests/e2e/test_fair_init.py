"""Cards drafted by `genoprep init` run through the workflow without edits (targeted panels, the issue's cases)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, run_workflow, shared_data

pytestmark = pytest.mark.e2e

PANELS = {
    "starmap": ("scrna", "starmap_mouse_mpfc_3704cells_celltypes.loom"),
    "chr21": ("scrna", "pbmc_10x_v3_chr21_filtered_feature_bc_matrix"),
}


def test_drafted_cards_of_targeted_panels_run_as_written(tmp_path: Path) -> None:
    cards = tmp_path / "cards"
    cards.mkdir()
    for dataset_id, parts in PANELS.items():
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "genoprep.cli",
                "init",
                str(shared_data(*parts)),
                "--id",
                dataset_id,
                "-o",
                str(cards / f"{dataset_id}.yaml"),
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
    run_workflow(cards, tmp_path / "out")
    for dataset_id in PANELS:
        card = yaml.safe_load((tmp_path / "out" / dataset_id / "card.yaml").read_text())
        drafted = yaml.safe_load((cards / f"{dataset_id}.yaml").read_text())
        assert card["params"]["min_genes"] == drafted["params"]["min_genes"] < 200
        assert card["computed"]["n_cells"] > 0.8 * 1000  # most cells kept (default min_genes 200 kept none)
        assert card["computed"]["n_features"] == drafted["params"]["n_top_genes"]
