"""Rule bulk_export: per-sample QC (qc.json), then the z-scored samples x genes X.npy,
processed.h5ad, features.tsv, obs.tsv and the facts for the card."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # noqa: F821 - genoprep, also inside conda envs

import anndata as ad  # noqa: E402

from genoprep.bulk.steps import export_step, facts, obs_table, qc_step  # noqa: E402
from genoprep.jsonio import write_json  # noqa: E402
from genoprep.ml_files import write_ml_files  # noqa: E402
from genoprep.runtime import run_step  # noqa: E402


def main() -> None:
    params = snakemake.params.export  # noqa: F821
    out = snakemake.output  # noqa: F821
    adata, report = qc_step(ad.read_h5ad(snakemake.input.h5ad), params)  # noqa: F821
    write_json(report, out.qc)
    adata, matrix, features = export_step(adata, params)
    adata.write_h5ad(out.h5ad)
    write_ml_files(matrix, features, obs_table(adata), out.x, out.features, out.obs)
    write_json(facts(adata, params, len(features)), out.facts)


run_step(snakemake.log[0], main)  # noqa: F821
