"""Rule scrna_shard_decide: the QC filters from every shard's metrics (qc.json, qc_cells.tsv)."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.runtime import run_step
from genoprep.scrna import shard


def main() -> None:
    options, _ = shard.options_from(snakemake.params.chain)
    source = shard.job_source(snakemake.input, snakemake.wildcards.dataset, options)
    output = snakemake.output
    shard.decide(
        source,
        list(snakemake.input.metrics),
        list(snakemake.input.kept),
        output.qc,
        output.cells,
        snakemake.params.logs,
        output.decision,
    )


run_step(snakemake.log[0], main)
