"""Rule scrna_gene_medians: Geneformer gene-median and token dictionaries derived from the dataset."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.runtime import run_step
from genoprep.scrna.tokens.workflow import TokenOptions, derive_dictionaries


def main() -> None:
    inputs, output = snakemake.input, snakemake.output
    options = TokenOptions.from_params(snakemake.params.options)
    name_id = dict(inputs.items()).get("gene_name_id_dictionary")
    derive_dictionaries(inputs.data[0], options, inputs.cells, output.medians, output.tokens, name_id)


run_step(snakemake.log[0], main)
