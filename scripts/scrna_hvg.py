"""Rule scrna_hvg: highly variable genes; writes processed.h5ad."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # noqa: F821 - genoprep, also inside conda envs

import anndata as ad  # noqa: E402

from genoprep.runtime import run_step  # noqa: E402
from genoprep.scrna.steps import hvg_step  # noqa: E402


def main() -> None:
    adata = hvg_step(ad.read_h5ad(snakemake.input.h5ad), snakemake.params.hvg)  # noqa: F821
    adata.write_h5ad(snakemake.output.h5ad)  # noqa: F821


run_step(snakemake.log[0], main)  # noqa: F821
