"""Rule dna_kmer_text: the spec's kmer_tokenize as text -> tokens_kmer_tokenize.tsv."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # noqa: F821 - genoprep, also inside conda envs

from genoprep.dna.options import SchemeOptions  # noqa: E402
from genoprep.dna.steps import kmer_text  # noqa: E402
from genoprep.runtime import run_step  # noqa: E402


def main() -> None:
    options = SchemeOptions.from_params(snakemake.params.options)  # noqa: F821
    kmer_text(options, list(snakemake.input.data), snakemake.output.text)  # noqa: F821


run_step(snakemake.log[0], main)  # noqa: F821
