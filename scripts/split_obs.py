"""Rule dna_splits: splits.tsv for the rows of obs.tsv, with the leakage check on identical token rows."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # noqa: F821 - genoprep, also inside conda envs

from genoprep.runtime import run_step  # noqa: E402
from genoprep.splits import SplitOptions  # noqa: E402
from genoprep.tasks.params import LeakageOptions  # noqa: E402
from genoprep.tasks.steps import obs_splits  # noqa: E402


def main() -> None:
    inputs, params, output = snakemake.input, snakemake.params, snakemake.output  # noqa: F821
    obs_splits(snakemake.wildcards.dataset, SplitOptions.from_params(params.split),  # noqa: F821
               LeakageOptions.from_params(params.leakage).policy, inputs.obs, inputs.rows, output.splits, output.qc)


run_step(snakemake.log[0], main)  # noqa: F821
