"""Rule scrna_shard_convert: a 10x/CSV/TSV/loom input converted, streaming, into the CSR h5ad the shard jobs read."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.runtime import run_step
from genoprep.scrna import shard


def main() -> None:
    options, _ = shard.options_from(snakemake.params.chain)
    metadata = snakemake.input.metadata[0] if snakemake.input.metadata else None
    shard.convert_input(snakemake.input.data[0], options, metadata, snakemake.output.converted)


run_step(snakemake.log[0], main)
