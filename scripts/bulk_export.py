"""Rule bulk_export: per-sample QC (qc.json), then the z-scored samples x genes X.npy,
processed.h5ad, features.tsv, obs.tsv and the facts for the card."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

import anndata as ad

from genoprep.bulk.options import ExportOptions
from genoprep.bulk.steps import export
from genoprep.jsonio import write_json
from genoprep.ml_files import write_ml_files
from genoprep.runtime import run_step
from genoprep.splits import SplitOptions
from genoprep.tasks.params import LeakageOptions


def main() -> None:
    options = ExportOptions.from_params(snakemake.params.options)
    out = snakemake.output
    split = SplitOptions.from_params(snakemake.params.split)
    policy = LeakageOptions.from_params(snakemake.params.leakage).policy
    result = export(ad.read_h5ad(snakemake.input.h5ad), options, split, policy)
    write_json(result.qc, out.qc)
    result.adata.write_h5ad(out.h5ad)
    write_ml_files(result.matrix, result.features, result.obs, out.x, out.features, out.obs)
    write_json(result.facts, out.facts)


run_step(snakemake.log[0], main)
