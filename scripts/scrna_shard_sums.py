"""Rule scrna_shard_sums: pass 3 over one shard (normalised rows, per-gene sums)."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.runtime import run_step
from genoprep.scrna import shard


def main() -> None:
    options, shard_options = shard.options_from(snakemake.params.chain)
    inputs, output = snakemake.input, snakemake.output
    index = int(snakemake.wildcards.shard)
    shard.shard_sums(
        inputs.data[0],
        options,
        shard_options,
        inputs.plan,
        index,
        inputs.decision,
        output.sums,
        output.rows,
        shard.job_stream(inputs),
    )


run_step(snakemake.log[0], main)
