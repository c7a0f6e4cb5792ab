"""Rule bulk_normalize: CPM (counts) + log1p, the expression filter (said on the terminal, guarded).

Layers 'raw' and 'log'.
"""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

import anndata as ad

from genoprep.bulk.options import NormalizeOptions
from genoprep.bulk.steps import normalize
from genoprep.runtime import run_step


def main() -> None:
    options = NormalizeOptions.from_params(snakemake.params.options)
    adata = ad.read_h5ad(snakemake.input.h5ad)
    filtered = normalize(adata, options)
    filtered.write_h5ad(snakemake.output.h5ad)


run_step(snakemake.log[0], main)
