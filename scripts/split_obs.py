"""Rule dna_splits: splits.tsv for the rows of obs.tsv (or from one input file per split), with the
leakage check on identical token rows."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.dna.options import ReadOptions
from genoprep.runtime import run_step
from genoprep.splits import SplitOptions
from genoprep.tasks.params import LeakageOptions
from genoprep.tasks.steps import input_file_splits, obs_splits


def main() -> None:
    inputs, params, output = snakemake.input, snakemake.params, snakemake.output
    reading = ReadOptions.from_params(params.reading)
    obs_splits(
        snakemake.wildcards.dataset,
        SplitOptions.from_params(params.split),
        LeakageOptions.from_params(params.leakage).policy,
        obs_path=inputs.obs,
        key_path=inputs.rows,
        splits_path=output.splits,
        qc_path=output.qc,
        file_splits=input_file_splits(reading.inputs, reading.columns, inputs.data),
    )


run_step(snakemake.log[0], main)
