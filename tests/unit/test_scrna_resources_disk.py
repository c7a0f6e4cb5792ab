"""``disk_mb`` of the scRNA-seq jobs (genoprep/scrna/resources.py) against the files a real conversion and
a real run write: the estimates never under-ask, and stay near what is written."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from genoprep.scrna import convert, resources
from tests.conftest import shared_data

REAL_CONVERSIONS = {
    "10x_mtx": ("pbmc_10x_v3_chr21_filtered_feature_bc_matrix", None),
    "csv": ("cellbench_dropseq_3celllines_counts_genes_x_cells.csv.gz", "genes_x_cells"),
    "loom": ("starmap_mouse_mpfc_3704cells_celltypes.loom", None),
}


def _converted_peak(monkeypatch: pytest.MonkeyPatch, path: Path, fmt: str, orientation: str | None, target: Path):
    """The conversion's peak disk: the spilled triples, the scatter memory maps (inputs out of cell order)
    and the CSR h5ad exist together at the end of :meth:`convert.CsrBuilder.write` (their real sizes)."""
    seen: dict[str, int] = {}
    write = convert.CsrBuilder.write

    def measured(builder: convert.CsrBuilder, out: Path, obs, var) -> None:
        spill = builder.spill_path.stat().st_size
        scattered = 0 if builder.in_order else 2 * (4 * max(builder.nnz, 1) + 128)  # two .npy maps, header
        write(builder, out, obs, var)
        seen["peak"] = spill + scattered + Path(out).stat().st_size

    monkeypatch.setattr(convert.CsrBuilder, "write", measured)
    convert.to_h5ad(path, fmt, target, orientation=orientation)
    with h5py.File(target, "r") as handle:
        n_cells, n_genes = (int(v) for v in handle["X"].attrs["shape"])
        size = resources.InputSize(n_cells, n_genes, int(handle["X/data"].shape[0]))
    return seen["peak"], size


@pytest.mark.parametrize("fmt", sorted(REAL_CONVERSIONS))
def test_converted_disk_covers_a_real_conversions_peak(tmp_path: Path, monkeypatch, fmt: str) -> None:
    name, orientation = REAL_CONVERSIONS[fmt]
    path = shared_data("scrna", name)
    peak, size = _converted_peak(monkeypatch, path, fmt, orientation, tmp_path / "input.h5ad")
    per_value = peak / size.nnz
    assert 8 < per_value <= resources.CONVERTED_BYTES_PER_VALUE + 8  # names weigh on the smallest files
    mib = peak / 2**20
    assert mib <= resources.converted_disk_mb(size) <= mib * 1.3 + 17  # 16 MiB of HDF5 metadata allowed
    # what the rules see before the job runs (the header, or the byte size of a CSV) covers it too
    assert resources.converted_disk_mb(resources.input_size(path, fmt)) >= mib
    assert resources.converted_disk_mb(size, 2) >= 2 * resources.converted_disk_mb(size) - 2  # --retries


def test_the_genes_x_cells_csv_needs_the_scatter_maps(tmp_path: Path, monkeypatch) -> None:
    """The largest real conversion (1.3 M values, genes x cells: out of cell order) is where the 32 bytes per
    value come from: 16 spilled, 8 scattered, 8 in the h5ad."""
    name, orientation = REAL_CONVERSIONS["csv"]
    peak, size = _converted_peak(monkeypatch, shared_data("scrna", name), "csv", orientation, tmp_path / "in.h5ad")
    assert size.nnz > 1_000_000
    assert 31 <= peak / size.nnz <= 33


def test_outputs_disk_covers_a_real_runs_artifacts(tmp_path: Path) -> None:
    from genoprep.scrna import chain
    from tests.unit.test_scrna_ooc import MITO, _options, _outputs

    path = shared_data("scrna", "pbmc68k_reduced_700cells_rawcounts_celltype_labels.h5ad")
    params = {"min_genes": 0, "min_cells": 0, "n_top_genes": 300}
    outputs = _outputs(tmp_path / "run")
    chain.process(chain.Job(path, None, tuple(MITO), "d", outputs), _options(tmp_path, path, params, None))
    written = (Path(outputs.processed).stat().st_size + Path(outputs.x).stat().st_size) / 2**20
    size = resources.input_size(path, "h5ad")
    assert np.load(outputs.x).shape == (size.n_cells, 300)  # every cell kept: the estimate's case
    estimate = resources.outputs_disk_mb(size, 1, 300)
    assert written <= estimate <= written * 1.5 + 33
    assert resources.job_disk_mb(size, resources.IN_MEMORY, "h5ad", 1, 300) == estimate
    assert resources.job_disk_mb(size, resources.OUT_OF_CORE, "csv", 1, 300) == estimate + resources.converted_disk_mb(
        size
    )
    assert resources.outputs_disk_mb(size, 3, 300) >= 3 * estimate - 3


def test_shard_jobs_disk_from_the_plan(tmp_path: Path) -> None:
    """Hand-computed: a shard of 50 cells and 1,000,000 stored values writes its rows (16 B per value + 16 B
    per cell: 15.26 MiB, + 1 MiB slack, + 1) and its 50 x 300 float32 block (0.06 MiB + 1, + 1); the gather
    job writes the whole input's artifacts (outputs_disk_mb of the summed sizes)."""
    from genoprep.scrna import shard

    plan = shard.Plan(100, 500, 2, (shard.Shard(0, 50, 1_000_000), shard.Shard(50, 100, 3_000_000)))
    plan.write(tmp_path / "plan.json")
    assert shard.shard_disk_mb(tmp_path / "plan.json", "rows", 0, 1, 300) == 17
    assert shard.shard_disk_mb(tmp_path / "plan.json", "rows", 1, 2, 300) == 94  # int((45.78 + 1) * 2) + 1
    assert shard.shard_disk_mb(tmp_path / "plan.json", "block", 0, 1, 300) == 2
    whole = resources.InputSize(100, 500, 4_000_000)
    assert shard.shard_disk_mb(tmp_path / "plan.json", "outputs", None, 1, 300) == resources.outputs_disk_mb(
        whole, 1, 300
    )
    with pytest.raises(ValueError, match="no disk estimate"):
        shard.shard_disk_mb(tmp_path / "plan.json", "sums", 0, 1, 300)
