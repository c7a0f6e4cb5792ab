"""Rule scrna_augment: augmented_<kind>.h5ad (downsampled or doublets) from processed.h5ad, inside each split."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.jsonio import write_json
from genoprep.runtime import run_step
from genoprep.scrna.augment import augment_processed
from genoprep.tasks.params import AugmentOptions, TaskOptions


def main() -> None:
    augment = AugmentOptions.from_params(snakemake.params.augment)
    kind = snakemake.wildcards.kind
    facts = augment_processed(
        snakemake.input.h5ad,
        kind,
        augment.downsample,
        augment.doublets,
        TaskOptions.from_params(snakemake.params.tasks).label,
        snakemake.output.h5ad,
    )
    write_json({f"augmented_{kind}": facts[kind]}, snakemake.output.facts)  # joins the card's computed facts


run_step(snakemake.log[0], main)
