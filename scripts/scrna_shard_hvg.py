"""Rule scrna_shard_hvg: every shard's sums merged; the HVGs and their scaling mean and std."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.runtime import run_step
from genoprep.scrna import shard


def main() -> None:
    options, _ = shard.options_from(snakemake.params.chain)
    source = shard.job_source(snakemake.input, snakemake.wildcards.dataset, options)
    inputs = snakemake.input
    shard.hvg(
        source,
        shard.shard_files(inputs),
        snakemake.output.hvg,
    )


run_step(snakemake.log[0], main)
