"""profiles/slurm on a real one-node SLURM cluster started on this machine.

The same card runs locally and through SLURM (sbatch jobs, squeue polling); the artifacts
must be identical byte for byte. Needs root and apt-get (Debian's SLURM 22.05 and munge);
skips, saying why, elsewhere or with GENOPREP_SKIP_SLURM=1. Packages this test installed
are removed afterwards: with slurm-client present but no controller, every later
`snakemake` start would wait ~10 s for `scontrol` (see ../shared/notes/local-slurm.md).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO, artifact_bytes, run_workflow, shared_data, write_card

pytestmark = pytest.mark.slurm
CLUSTER = Path(__file__).with_name("local_cluster.sh")


@pytest.fixture(scope="module")
def slurm_cluster() -> Iterator[Path | None]:
    if os.environ.get("GENOPREP_SKIP_SLURM") == "1":
        pytest.skip("GENOPREP_SKIP_SLURM=1")
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip("a local SLURM cluster needs root and apt-get (Debian)")
    install = subprocess.run(["bash", str(CLUSTER), "install"], capture_output=True, text=True, timeout=600)
    if install.returncode != 0:
        pytest.skip(f"SLURM could not be installed: {install.stderr.strip()[-300:]}")
    installed = install.stdout.split()
    if subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True).stdout.strip() == "idle":
        yield None  # a cluster is already up on this machine: use it, leave it as it is
        return
    # not under pytest's 0700 tmp folders: munge and slurm must read their state folder
    state = Path(tempfile.mkdtemp(prefix="genoprep-slurm-", dir="/var/tmp"))
    state.chmod(0o755)
    start = subprocess.run(["bash", str(CLUSTER), "start", str(state)], capture_output=True, text=True, timeout=120)
    try:
        if start.returncode != 0:
            pytest.skip(f"the local SLURM cluster did not start: {start.stderr.strip()[-300:]}")
        yield state
    finally:
        subprocess.run(["bash", str(CLUSTER), "stop", str(state)], timeout=60)
        shutil.rmtree(state, ignore_errors=True)
        if installed:
            subprocess.run(["apt-get", "remove", "-y", "-qq", *installed], capture_output=True, timeout=600)


def test_slurm_profile_gives_the_same_bytes_as_a_local_run(slurm_cluster: Path | None, tmp_path: Path) -> None:
    source = shared_data("scrna", "pbmc68k_reduced_700cells_rawcounts_celltype_labels.h5ad")
    cards = tmp_path / "cards"
    params = {"min_genes": 200, "max_genes": 350, "n_top_genes": 300}
    # pbmc68k_shards: the same input in 4 shards (rules/scrna_shard.smk), each pass a SLURM job per shard
    for dataset, extra in (("pbmc68k", {}), ("pbmc68k_shards", {"shards": 4})):
        write_card(
            cards,
            {
                "dataset_id": dataset,
                "name": "PBMC 68k reduced",
                "modality": "scrna",
                "input": {"path": str(source), "format": "h5ad"},
                "columns": {"cell_type": "bulk_labels"},
                "params": {**params, **extra},
            },
        )
    run_workflow(cards, tmp_path / "local")
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "--profile",
        "profiles/slurm",
        "--slurm-status-command",
        "squeue",
        "--slurm-init-seconds-before-status-checks",
        "5",
        "--latency-wait",
        "5",
        "--config",
        f"datasets={cards}",
        f"results={tmp_path / 'slurm'}",
    ]
    done = subprocess.run(["timeout", "-s", "KILL", "900", *command], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-4000:]
    assert "SLURM run ID" in done.stderr + done.stdout
    for dataset in ("pbmc68k", "pbmc68k_shards"):
        assert artifact_bytes(tmp_path / "slurm" / dataset) == artifact_bytes(tmp_path / "local" / dataset), dataset
    assert (done.stderr + done.stdout).count("rule scrna_shard_metrics:") == 4  # one SLURM job per shard
