"""Rule dna_kmer_counts: sequences x k-mers counts -> kmers_k<k>.npz (CSR) and kmers_k<k>.tsv (columns)."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.dna.options import SchemeOptions
from genoprep.dna.steps import kmer_counts
from genoprep.runtime import run_step


def main() -> None:
    out = snakemake.output
    options = SchemeOptions.from_params(snakemake.params.options)
    kmer_counts(options, list(snakemake.input.data), out.counts, out.kmers)


run_step(snakemake.log[0], main)
