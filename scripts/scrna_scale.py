"""Rule scrna_scale: the scaled cells x HVG matrix X.npy, features.tsv and obs.tsv."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # noqa: F821 - genoprep, also inside conda envs

import anndata as ad  # noqa: E402

from genoprep.jsonio import write_json  # noqa: E402
from genoprep.runtime import run_step  # noqa: E402
from genoprep.ml_files import write_ml_files  # noqa: E402
from genoprep.scrna.export import obs_table  # noqa: E402
from genoprep.scrna.steps import facts, ml_matrix  # noqa: E402


def main() -> None:
    adata = ad.read_h5ad(snakemake.input.h5ad)  # noqa: F821
    params = snakemake.params.scale  # noqa: F821
    matrix, features = ml_matrix(adata, params)
    out = snakemake.output  # noqa: F821
    write_ml_files(matrix, features, obs_table(adata), out.x, out.features, out.obs)
    write_json(facts(adata, params, len(features)), out.facts)


run_step(snakemake.log[0], main)  # noqa: F821
