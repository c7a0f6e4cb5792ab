"""Rule scrna_shard_metrics: pass 1 over one shard (per-cell metrics, cells per gene, value checks)."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.runtime import run_step
from genoprep.scrna import shard


def main() -> None:
    options, shard_options = shard.options_from(snakemake.params.chain)
    source = shard.job_source(snakemake.input, snakemake.wildcards.dataset, options)
    index = int(snakemake.wildcards.shard)
    shard.shard_metrics(
        source,
        shard_options,
        snakemake.input.plan,
        index,
        snakemake.output.npz,
    )


run_step(snakemake.log[0], main)
