"""Rule scrna_tokens: one foundation-model token scheme -> <scheme>.parquet and its qc section."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # noqa: F821 - genoprep, also inside conda envs

from genoprep.jsonio import write_json  # noqa: E402
from genoprep.runtime import console, run_step  # noqa: E402
from genoprep.scrna.tokens.workflow import tokenize_scheme  # noqa: E402


def main() -> None:
    inputs, params = snakemake.input, snakemake.params.options  # noqa: F821
    derived = {}
    for name, field in (("medians", "gene_median_dictionary"), ("derived_tokens", "token_dictionary")):
        value = getattr(inputs, name, [])
        value = [value] if isinstance(value, str) else list(value)
        if value:
            derived[field] = value[0]
    section = tokenize_scheme(inputs.data[0], params, inputs.cells, inputs.processed, snakemake.output.tokens,  # noqa: F821
                              derived)
    write_json(section, snakemake.output.section)  # noqa: F821
    console(f"{params['dataset_id']}: {params['scheme']} tokens of {section['cells_tokenised']} cells "
            f"({section['cells_failed_qc']} failed QC, {section['cells_dropped_empty']} empty and dropped)")


run_step(snakemake.log[0], main)  # noqa: F821
