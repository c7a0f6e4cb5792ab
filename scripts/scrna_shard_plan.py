"""Checkpoint scrna_shard_plan: the shards of cells of a sharded scRNA-seq dataset (genoprep/scrna/shard.py)."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.runtime import run_step
from genoprep.scrna import shard


def main() -> None:
    options, shard_options = shard.options_from(snakemake.params.chain)
    inputs = snakemake.input
    shard.plan(inputs.data[0], options, shard_options, snakemake.output.plan, shard.job_stream(inputs))


run_step(snakemake.log[0], main)
