"""Rule scrna_augment: augmented_<kind>.h5ad (downsampled or doublets) from processed.h5ad, inside each split."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.runtime import run_step
from genoprep.scrna.augment import augment_processed
from genoprep.tasks.params import AugmentOptions, TaskOptions


def main() -> None:
    augment = AugmentOptions.from_params(snakemake.params.augment)
    augment_processed(
        snakemake.input.h5ad,
        snakemake.wildcards.kind,
        augment.downsample,
        augment.doublets,
        TaskOptions.from_params(snakemake.params.tasks).label,
        snakemake.output.h5ad,
    )


run_step(snakemake.log[0], main)
