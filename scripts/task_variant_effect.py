"""Rule variant_effect_bundle: labelled VCF + reference FASTA -> splits.tsv, qc.json, tasks/variant_effect/."""

import os
import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # noqa: F821 - genoprep, also inside conda envs

from genoprep.runtime import run_step  # noqa: E402
from genoprep.splits import SplitOptions  # noqa: E402
from genoprep.tasks.params import LeakageOptions  # noqa: E402
from genoprep.tasks.steps import variant_effect_dataset  # noqa: E402
from genoprep.tasks.variant_effect import VariantEffectOptions  # noqa: E402


def main() -> None:
    params, output = snakemake.params, snakemake.output  # noqa: F821
    variant_effect_dataset(
        snakemake.wildcards.dataset,  # noqa: F821
        VariantEffectOptions.from_params(params.variant), SplitOptions.from_params(params.split),
        LeakageOptions.from_params(params.leakage).policy,
        snakemake.input.vcf, snakemake.input.reference,  # noqa: F821
        splits_path=output.splits, qc_path=output.qc, bundle_dir=os.path.dirname(output.task),
        facts_path=output.facts)


run_step(snakemake.log[0], main)  # noqa: F821
