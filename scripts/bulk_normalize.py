"""Rule bulk_normalize: CPM (counts) + log1p, the expression filter (said on the terminal, guarded); layers 'raw' and 'log'."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # noqa: F821 - genoprep, also inside conda envs

import anndata as ad  # noqa: E402

from genoprep.bulk.options import NormalizeOptions  # noqa: E402
from genoprep.bulk.steps import normalize  # noqa: E402
from genoprep.runtime import run_step  # noqa: E402


def main() -> None:
    options = NormalizeOptions.from_params(snakemake.params.options)  # noqa: F821
    adata = ad.read_h5ad(snakemake.input.h5ad)  # noqa: F821
    filtered = normalize(adata, options)
    filtered.write_h5ad(snakemake.output.h5ad)  # noqa: F821


run_step(snakemake.log[0], main)  # noqa: F821
