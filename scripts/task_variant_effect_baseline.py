"""Rule variant_effect_baseline: logistic regression on alt - ref k-mer counts, with shuffled labels."""

import os
import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.runtime import run_step
from genoprep.tasks.params import TaskOptions
from genoprep.tasks.steps import variant_effect_baseline
from genoprep.tasks.variant_effect import VariantEffectOptions


def main() -> None:
    params = snakemake.params
    variant_effect_baseline(
        snakemake.wildcards.dataset,
        VariantEffectOptions.from_params(params.variant),
        TaskOptions.from_params(params.tasks),
        os.path.dirname(snakemake.input.task),
        snakemake.output.baseline,
    )


run_step(snakemake.log[0], main)
