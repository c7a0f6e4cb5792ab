"""Rule task_sequence_classification: the sequence classification bundle.

DNA obs.tsv + k-mer counts + token ids + splits.tsv -> tasks/sequence_classification/.
"""

import os
import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.runtime import run_step
from genoprep.tasks.params import LeakageOptions, TaskOptions
from genoprep.tasks.steps import sequence_bundle


def main() -> None:
    inputs, params = snakemake.input, snakemake.params
    tokens = dict(zip(params.schemes, inputs.tokens))
    sequence_bundle(
        snakemake.wildcards.dataset,
        TaskOptions.from_params(params.tasks),
        LeakageOptions.from_params(params.leakage).policy,
        inputs.obs,
        inputs.kmers,
        tokens,
        inputs.splits,
        os.path.dirname(snakemake.output.task),
    )


run_step(snakemake.log[0], main)
