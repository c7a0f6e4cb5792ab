"""Rule variants_plan: check the VCF/BCF (sha256, format, header, damage) and list its chunks."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # noqa: F821 - genoprep, also inside conda envs

from genoprep.jsonio import write_json  # noqa: E402
from genoprep.runtime import run_step  # noqa: E402
from genoprep.variants.steps import PlanOptions, plan  # noqa: E402


def main() -> None:
    options = PlanOptions.from_params(snakemake.params.options)  # noqa: F821
    chunk_plan = plan(snakemake.input.data[0], options)  # noqa: F821
    write_json(chunk_plan, snakemake.output.plan)  # noqa: F821


run_step(snakemake.log[0], main)  # noqa: F821
