"""Rule variants_gather: filter and gather the chunks into dosage.npy, variants.parquet,
samples.tsv and qc.json (+ the facts for the completed card)."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # noqa: F821 - genoprep, also inside conda envs

from genoprep.jsonio import write_json  # noqa: E402
from genoprep.runtime import run_step  # noqa: E402
from genoprep.variants.artifacts import (  # noqa: E402
    write_dosage_npy,
    write_qc_json,
    write_samples_tsv,
    write_variants_parquet,
)
from genoprep.variants.steps import gather_dataset  # noqa: E402


def main() -> None:
    inputs, out = snakemake.input, snakemake.output  # noqa: F821
    metadata = inputs.metadata[0] if inputs.metadata else None
    result, facts = gather_dataset(inputs.chunks, snakemake.params.card, metadata)  # noqa: F821
    write_dosage_npy(out.dosage, result.dosage)
    write_variants_parquet(out.variants, result.variants)
    write_samples_tsv(out.samples, result.samples)
    write_qc_json(out.qc, result.qc)
    write_json(facts, out.facts)


run_step(snakemake.log[0], main)  # noqa: F821
