"""Rule scrna_shard_scale: pass 4 over one shard (its scaled HVG block)."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.runtime import run_step
from genoprep.scrna import shard


def main() -> None:
    options, _ = shard.options_from(snakemake.params.chain)
    shard.shard_scale(options, snakemake.input.rows, snakemake.input.hvg, snakemake.output.block)


run_step(snakemake.log[0], main)
