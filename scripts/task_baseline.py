"""Rule task_baseline: the quick baseline of one bundle (with its shuffled-label control) -> baseline.json."""

import os
import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.runtime import run_step
from genoprep.tasks.params import TaskOptions
from genoprep.tasks.steps import annotation_baseline, expression_baseline, sequence_baseline

BASELINES = {
    "cell_type_annotation": annotation_baseline,
    "gene_expression_prediction": expression_baseline,
    "sequence_classification": sequence_baseline,
}


def main() -> None:
    wildcards = snakemake.wildcards
    BASELINES[wildcards.task](
        wildcards.dataset,
        TaskOptions.from_params(snakemake.params.tasks),
        os.path.dirname(snakemake.input.task),
        snakemake.output.baseline,
    )


run_step(snakemake.log[0], main)
