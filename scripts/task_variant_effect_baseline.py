"""Rule variant_effect_baseline: logistic regression on alt - ref k-mer counts, with shuffled labels."""

import os
import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # noqa: F821 - genoprep, also inside conda envs

from genoprep.runtime import run_step  # noqa: E402
from genoprep.tasks.params import TaskOptions  # noqa: E402
from genoprep.tasks.steps import variant_effect_baseline  # noqa: E402
from genoprep.tasks.variant_effect import VariantEffectOptions  # noqa: E402


def main() -> None:
    params = snakemake.params  # noqa: F821
    variant_effect_baseline(snakemake.wildcards.dataset,  # noqa: F821
                            VariantEffectOptions.from_params(params.variant), TaskOptions.from_params(params.tasks),
                            os.path.dirname(snakemake.input.task), snakemake.output.baseline)  # noqa: F821


run_step(snakemake.log[0], main)  # noqa: F821
