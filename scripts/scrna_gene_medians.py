"""Rule scrna_gene_medians: Geneformer gene-median and token dictionaries derived from the dataset."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # noqa: F821 - genoprep, also inside conda envs

from genoprep.runtime import run_step  # noqa: E402
from genoprep.scrna.tokens.workflow import derive_dictionaries  # noqa: E402


def main() -> None:
    inputs, output = snakemake.input, snakemake.output  # noqa: F821
    derive_dictionaries(inputs.data[0], snakemake.params.options, inputs.cells, output.medians, output.tokens)  # noqa: F821


run_step(snakemake.log[0], main)  # noqa: F821
