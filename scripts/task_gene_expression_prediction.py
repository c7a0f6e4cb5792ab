"""Rule task_gene_expression_prediction: processed.h5ad + splits.tsv -> tasks/gene_expression_prediction/."""

import os
import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.runtime import run_step
from genoprep.tasks.params import LeakageOptions, TaskOptions
from genoprep.tasks.steps import expression_bundle


def main() -> None:
    inputs = snakemake.input
    expression_bundle(
        snakemake.wildcards.dataset,
        TaskOptions.from_params(snakemake.params.tasks),
        LeakageOptions.from_params(snakemake.params.leakage).policy,
        inputs.h5ad,
        inputs.splits,
        os.path.dirname(snakemake.output.task),
    )


run_step(snakemake.log[0], main)
