"""Rule task_sequence_classification: DNA obs.tsv + k-mer counts + token ids + splits.tsv -> tasks/sequence_classification/."""

import os
import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # noqa: F821 - genoprep, also inside conda envs

from genoprep.runtime import run_step  # noqa: E402
from genoprep.tasks.params import LeakageOptions, TaskOptions  # noqa: E402
from genoprep.tasks.steps import sequence_bundle  # noqa: E402


def main() -> None:
    inputs, params = snakemake.input, snakemake.params  # noqa: F821
    tokens = dict(zip(params.schemes, inputs.tokens))
    sequence_bundle(snakemake.wildcards.dataset, TaskOptions.from_params(params.tasks),  # noqa: F821
                    LeakageOptions.from_params(params.leakage).policy, inputs.obs, inputs.kmers, tokens,
                    inputs.splits, os.path.dirname(snakemake.output.task))  # noqa: F821


run_step(snakemake.log[0], main)  # noqa: F821
