"""Rule task_baseline: the quick baseline of one bundle (with its shuffled-label control) -> baseline.json."""

import os
import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # noqa: F821 - genoprep, also inside conda envs

from genoprep.runtime import run_step  # noqa: E402
from genoprep.tasks.params import TaskOptions  # noqa: E402
from genoprep.tasks.steps import annotation_baseline, expression_baseline, sequence_baseline  # noqa: E402

BASELINES = {"cell_type_annotation": annotation_baseline, "gene_expression_prediction": expression_baseline,
             "sequence_classification": sequence_baseline}


def main() -> None:
    wildcards = snakemake.wildcards  # noqa: F821
    BASELINES[wildcards.task](wildcards.dataset, TaskOptions.from_params(snakemake.params.tasks),  # noqa: F821
                              os.path.dirname(snakemake.input.task), snakemake.output.baseline)  # noqa: F821


run_step(snakemake.log[0], main)  # noqa: F821
