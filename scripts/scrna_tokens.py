"""Rule scrna_tokens: one foundation-model token scheme -> <scheme>.parquet and its qc section."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.jsonio import write_json
from genoprep.runtime import console, run_step
from genoprep.scrna.tokens.workflow import DICTIONARY_FIELDS, TokenOptions, tokenize_scheme


def main() -> None:
    inputs, options = snakemake.input, TokenOptions.from_params(snakemake.params.options)
    files = {field: path for field, path in inputs.items() if field in DICTIONARY_FIELDS.get(options.scheme, ())}
    section = tokenize_scheme(options, inputs.data[0], inputs.cells, inputs.processed, snakemake.output.tokens, files)
    write_json(section, snakemake.output.section)
    console(
        f"{options.dataset_id}: {options.scheme} tokens of {section['cells_tokenised']} cells "
        f"({section['cells_failed_qc']} failed QC, {section['cells_dropped_empty']} empty and dropped)"
    )


run_step(snakemake.log[0], main)
