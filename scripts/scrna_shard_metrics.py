"""Rule scrna_shard_metrics: pass 1 over one shard (per-cell metrics, cells per gene, value checks)."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.runtime import run_step
from genoprep.scrna import shard


def main() -> None:
    options, shard_options = shard.options_from(snakemake.params.chain)
    data, metadata, mito = shard.job_inputs(snakemake.input)
    index = int(snakemake.wildcards.shard)
    shard.shard_metrics(
        data,
        metadata,
        mito,
        snakemake.wildcards.dataset,
        options,
        shard_options,
        snakemake.input.plan,
        index,
        snakemake.output.npz,
    )


run_step(snakemake.log[0], main)
