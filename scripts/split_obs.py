"""Rule dna_splits: splits.tsv for the rows of obs.tsv, with the leakage check on identical token rows."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.runtime import run_step
from genoprep.splits import SplitOptions
from genoprep.tasks.params import LeakageOptions
from genoprep.tasks.steps import obs_splits


def main() -> None:
    inputs, params, output = snakemake.input, snakemake.params, snakemake.output
    obs_splits(
        snakemake.wildcards.dataset,
        SplitOptions.from_params(params.split),
        LeakageOptions.from_params(params.leakage).policy,
        inputs.obs,
        inputs.rows,
        output.splits,
        output.qc,
    )


run_step(snakemake.log[0], main)
