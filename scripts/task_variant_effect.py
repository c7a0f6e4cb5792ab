"""Rule variant_effect_bundle: labelled VCF + reference FASTA -> splits.tsv, qc.json, tasks/variant_effect/."""

import os
import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.runtime import run_step
from genoprep.splits import SplitOptions
from genoprep.tasks.params import LeakageOptions
from genoprep.tasks.steps import variant_effect_dataset
from genoprep.tasks.variant_effect import VariantEffectOptions


def main() -> None:
    params, output = snakemake.params, snakemake.output
    variant_effect_dataset(
        snakemake.wildcards.dataset,
        VariantEffectOptions.from_params(params.variant),
        SplitOptions.from_params(params.split),
        LeakageOptions.from_params(params.leakage).policy,
        snakemake.input.vcf,
        snakemake.input.reference,
        splits_path=output.splits,
        qc_path=output.qc,
        bundle_dir=os.path.dirname(output.task),
        facts_path=output.facts,
    )


run_step(snakemake.log[0], main)
