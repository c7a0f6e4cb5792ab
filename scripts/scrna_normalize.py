"""Rule scrna_normalize: normalize_total + log1p (raw counts kept in layers['counts'])."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # noqa: F821 - genoprep, also inside conda envs

import anndata as ad  # noqa: E402

from genoprep.runtime import run_step  # noqa: E402
from genoprep.scrna.steps import normalize_step  # noqa: E402


def main() -> None:
    adata = normalize_step(ad.read_h5ad(snakemake.input.h5ad), snakemake.params.normalize)  # noqa: F821
    adata.write_h5ad(snakemake.output.h5ad)  # noqa: F821


run_step(snakemake.log[0], main)  # noqa: F821
