"""Rule scrna_gene_medians: Geneformer gene-median and token dictionaries derived from the dataset."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.runtime import run_step
from genoprep.scrna.tokens.workflow import derive_dictionaries


def main() -> None:
    inputs, output = snakemake.input, snakemake.output
    derive_dictionaries(inputs.data[0], snakemake.params.options, inputs.cells, output.medians, output.tokens)


run_step(snakemake.log[0], main)
