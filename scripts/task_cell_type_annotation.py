"""Rule task_cell_type_annotation: X.npy + obs.tsv + splits.tsv -> tasks/cell_type_annotation/."""

import os
import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.runtime import run_step
from genoprep.tasks.params import LeakageOptions, TaskOptions
from genoprep.tasks.steps import annotation_bundle


def main() -> None:
    inputs, params = snakemake.input, snakemake.params
    annotation_bundle(
        snakemake.wildcards.dataset,
        TaskOptions.from_params(params.tasks),
        LeakageOptions.from_params(params.leakage).policy,
        inputs.x,
        inputs.obs,
        inputs.splits,
        os.path.dirname(snakemake.output.task),
    )


run_step(snakemake.log[0], main)
