"""Rule scrna_shard_clip: seurat_v3's clip pass over one shard (its kept counts clipped and summed per batch)."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.runtime import run_step
from genoprep.scrna import shard


def main() -> None:
    options, _ = shard.options_from(snakemake.params.chain)
    inputs = snakemake.input
    shard.shard_clip(options, inputs.plan, inputs.decision, inputs.rows, inputs.clip, snakemake.output.clipped)


run_step(snakemake.log[0], main)
