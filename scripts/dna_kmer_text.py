"""Rule dna_kmer_text: the spec's kmer_tokenize as text -> tokens_kmer_tokenize.tsv."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.dna.options import SchemeOptions
from genoprep.dna.steps import kmer_text
from genoprep.runtime import run_step


def main() -> None:
    options = SchemeOptions.from_params(snakemake.params.options)
    kmer_text(options, list(snakemake.input.data), snakemake.output.text)


run_step(snakemake.log[0], main)
