"""Rule scrna_shard_kept: the genes min_cells keeps (from every shard), and pass 2 over one shard."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.runtime import run_step
from genoprep.scrna import shard


def main() -> None:
    options, shard_options = shard.options_from(snakemake.params.chain)
    source = shard.job_source(snakemake.input, snakemake.wildcards.dataset, options)
    index = int(snakemake.wildcards.shard)
    shard.shard_kept(
        source,
        shard_options,
        snakemake.input.plan,
        index,
        list(snakemake.input.metrics),
        snakemake.output.npz,
    )


run_step(snakemake.log[0], main)
