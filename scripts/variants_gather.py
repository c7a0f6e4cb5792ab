"""Rule variants_gather: filter and gather the chunks into dosage.npy, variants.parquet,
samples.tsv and qc.json (+ the facts for the completed card); say on the terminal what
the filters removed, and stop when they removed too much (params.min_fraction_kept)."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.filters import summary_line
from genoprep.jsonio import write_json
from genoprep.runtime import console, run_step
from genoprep.variants.artifacts import write_qc_json, write_samples_tsv, write_variants_parquet
from genoprep.variants.steps import GatherOptions, check_kept, gather_dataset


def main() -> None:
    inputs, out = snakemake.input, snakemake.output
    options = GatherOptions.from_params(snakemake.params.options)
    metadata = inputs.metadata[0] if inputs.metadata else None
    result, steps, facts = gather_dataset(inputs.chunks, options, metadata, dosage_path=out.dosage)
    console(summary_line(snakemake.wildcards.dataset, steps))
    check_kept(result, options)
    write_variants_parquet(out.variants, result.variants)
    write_samples_tsv(out.samples, result.samples)
    write_qc_json(out.qc, result.qc)
    write_json(facts, out.facts)


run_step(snakemake.log[0], main)
