"""Rule task_gene_expression_prediction: processed.h5ad + splits.tsv -> tasks/gene_expression_prediction/."""

import os
import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # noqa: F821 - genoprep, also inside conda envs

from genoprep.runtime import run_step  # noqa: E402
from genoprep.tasks.params import TaskOptions  # noqa: E402
from genoprep.tasks.steps import expression_bundle  # noqa: E402


def main() -> None:
    inputs = snakemake.input  # noqa: F821
    expression_bundle(snakemake.wildcards.dataset, TaskOptions.from_params(snakemake.params.tasks),  # noqa: F821
                      inputs.h5ad, inputs.splits, os.path.dirname(snakemake.output.task))  # noqa: F821


run_step(snakemake.log[0], main)  # noqa: F821
