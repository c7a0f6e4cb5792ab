"""Rule split_table: splits.tsv from the split column of obs.tsv (scRNA-seq and bulk, split in their chain)."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.runtime import run_step
from genoprep.tasks.steps import splits_from_obs


def main() -> None:
    splits_from_obs(snakemake.input.obs, snakemake.output.splits)


run_step(snakemake.log[0], main)
