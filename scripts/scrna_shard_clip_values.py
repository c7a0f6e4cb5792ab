"""Rule scrna_shard_clip_values: seurat_v3's per-batch count moments of all shards merged; loess fit; clip values."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.runtime import run_step
from genoprep.scrna import shard


def main() -> None:
    options, _ = shard.options_from(snakemake.params.chain)
    inputs = snakemake.input
    shard.clip_values(options, inputs.plan, inputs.decision, list(inputs.sums), snakemake.output.clip)


run_step(snakemake.log[0], main)
