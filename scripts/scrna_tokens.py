"""Rule scrna_tokens: one foundation-model token scheme -> <scheme>.parquet and its qc section."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.jsonio import write_json
from genoprep.runtime import console, run_step
from genoprep.scrna.tokens.workflow import tokenize_scheme


def main() -> None:
    inputs, params = snakemake.input, snakemake.params.options
    derived = {}
    for name, field in (("medians", "gene_median_dictionary"), ("derived_tokens", "token_dictionary")):
        value = getattr(inputs, name, [])
        value = [value] if isinstance(value, str) else list(value)
        if value:
            derived[field] = value[0]
    section = tokenize_scheme(inputs.data[0], params, inputs.cells, inputs.processed, snakemake.output.tokens, derived)
    write_json(section, snakemake.output.section)
    console(
        f"{params['dataset_id']}: {params['scheme']} tokens of {section['cells_tokenised']} cells "
        f"({section['cells_failed_qc']} failed QC, {section['cells_dropped_empty']} empty and dropped)"
    )


run_step(snakemake.log[0], main)
