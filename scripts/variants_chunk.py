"""Rule variants_chunk: read one planned chunk of records into a dosage block (.npz)."""

import json
import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.runtime import run_step
from genoprep.variants.steps import ChunkOptions, read_planned_chunk


def main() -> None:
    with open(snakemake.input.plan, encoding="utf-8") as handle:
        chunk_plan = json.load(handle)
    index = int(snakemake.wildcards.chunk)
    options = ChunkOptions.from_params(snakemake.params.options)
    chunk = read_planned_chunk(snakemake.input.data[0], chunk_plan, index, options)
    chunk.save(snakemake.output.npz)


run_step(snakemake.log[0], main)
