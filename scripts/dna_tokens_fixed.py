"""Rule dna_tokens_fixed: char / hyenadna token ids -> tokens_<scheme>.npy (sequences x max_len)."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.dna.options import SchemeOptions
from genoprep.dna.steps import tokens_fixed
from genoprep.runtime import run_step


def main() -> None:
    options = SchemeOptions.from_params(snakemake.params.options)
    tokens_fixed(options, list(snakemake.input.data), snakemake.output.tokens)


run_step(snakemake.log[0], main)
