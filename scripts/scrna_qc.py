"""Rule scrna_qc: QC metrics and the cell/gene filters; writes qc.json and qc_cells.tsv."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # noqa: F821 - genoprep, also inside conda envs

import anndata as ad  # noqa: E402

from genoprep.jsonio import write_json  # noqa: E402
from genoprep.runtime import run_step  # noqa: E402
from genoprep.scrna.steps import quality_control  # noqa: E402


def main() -> None:
    adata = ad.read_h5ad(snakemake.input.h5ad)  # noqa: F821
    filtered, report, cells = quality_control(adata, snakemake.params.qc, snakemake.input.mito_genes,  # noqa: F821
                                       source=snakemake.wildcards.dataset)  # noqa: F821
    filtered.write_h5ad(snakemake.output.h5ad)  # noqa: F821
    write_json(report, snakemake.output.qc)  # noqa: F821
    cells.to_csv(snakemake.output.cells, sep="\t", index=False, lineterminator="\n")  # noqa: F821


run_step(snakemake.log[0], main)  # noqa: F821
