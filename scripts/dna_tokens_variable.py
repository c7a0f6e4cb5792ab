"""Rule dna_tokens_variable: dnabert / nucleotide_transformer token ids -> tokens_<scheme>.parquet."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.dna.options import SchemeOptions
from genoprep.dna.steps import tokens_variable
from genoprep.runtime import run_step


def main() -> None:
    options = SchemeOptions.from_params(snakemake.params.options)
    tokens_variable(options, list(snakemake.input.data), snakemake.output.tokens)


run_step(snakemake.log[0], main)
