"""Rule variants_plan: check the VCF/BCF (sha256, format, header, damage) and list its chunks."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.jsonio import write_json
from genoprep.runtime import run_step
from genoprep.variants.steps import PlanOptions, plan


def main() -> None:
    options = PlanOptions.from_params(snakemake.params.options)
    chunk_plan = plan(snakemake.input.data[0], options)
    write_json(chunk_plan, snakemake.output.plan)


run_step(snakemake.log[0], main)
