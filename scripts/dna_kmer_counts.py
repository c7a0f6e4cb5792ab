"""Rule dna_kmer_counts: sequences x k-mers counts -> kmers_k<k>.npz (CSR) and kmers_k<k>.tsv (columns)."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # noqa: F821 - genoprep, also inside conda envs

from genoprep.dna.options import SchemeOptions  # noqa: E402
from genoprep.dna.steps import kmer_counts  # noqa: E402
from genoprep.runtime import run_step  # noqa: E402


def main() -> None:
    out = snakemake.output  # noqa: F821
    options = SchemeOptions.from_params(snakemake.params.options)  # noqa: F821
    kmer_counts(options, list(snakemake.input.data), out.counts, out.kmers)  # noqa: F821


run_step(snakemake.log[0], main)  # noqa: F821
