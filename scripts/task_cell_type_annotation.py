"""Rule task_cell_type_annotation: X.npy + obs.tsv + splits.tsv -> tasks/cell_type_annotation/."""

import os
import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # noqa: F821 - genoprep, also inside conda envs

from genoprep.runtime import run_step  # noqa: E402
from genoprep.tasks.params import LeakageOptions, TaskOptions  # noqa: E402
from genoprep.tasks.steps import annotation_bundle  # noqa: E402


def main() -> None:
    inputs, params = snakemake.input, snakemake.params  # noqa: F821
    annotation_bundle(snakemake.wildcards.dataset, TaskOptions.from_params(params.tasks),  # noqa: F821
                      LeakageOptions.from_params(params.leakage).policy, inputs.x, inputs.obs, inputs.splits,
                      os.path.dirname(snakemake.output.task))  # noqa: F821


run_step(snakemake.log[0], main)  # noqa: F821
