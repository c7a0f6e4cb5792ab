"""Rule variants_chunk: read one planned chunk of records into a dosage block (.npz)."""

import json
import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # noqa: F821 - genoprep, also inside conda envs

from genoprep.runtime import run_step  # noqa: E402
from genoprep.variants.steps import ChunkOptions, read_planned_chunk  # noqa: E402


def main() -> None:
    with open(snakemake.input.plan, encoding="utf-8") as handle:  # noqa: F821
        chunk_plan = json.load(handle)
    index = int(snakemake.wildcards.chunk)  # noqa: F821
    options = ChunkOptions.from_params(snakemake.params.options)  # noqa: F821
    chunk = read_planned_chunk(snakemake.input.data[0], chunk_plan, index, options)  # noqa: F821
    chunk.save(snakemake.output.npz)  # noqa: F821


run_step(snakemake.log[0], main)  # noqa: F821
