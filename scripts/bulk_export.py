"""Rule bulk_export: per-sample QC (qc.json), then the z-scored samples x genes X.npy,
processed.h5ad, features.tsv, obs.tsv and the facts for the card."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # noqa: F821 - genoprep, also inside conda envs

import anndata as ad  # noqa: E402

from genoprep.bulk.options import ExportOptions  # noqa: E402
from genoprep.bulk.steps import export  # noqa: E402
from genoprep.jsonio import write_json  # noqa: E402
from genoprep.ml_files import write_ml_files  # noqa: E402
from genoprep.runtime import run_step  # noqa: E402


def main() -> None:
    options = ExportOptions.from_params(snakemake.params.options)  # noqa: F821
    out = snakemake.output  # noqa: F821
    result = export(ad.read_h5ad(snakemake.input.h5ad), options)  # noqa: F821
    write_json(result.qc, out.qc)
    result.adata.write_h5ad(out.h5ad)
    write_ml_files(result.matrix, result.features, result.obs, out.x, out.features, out.obs)
    write_json(result.facts, out.facts)


run_step(snakemake.log[0], main)  # noqa: F821
