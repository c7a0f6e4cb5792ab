"""Rule dna_ingest: the card's FASTA / table inputs -> validated, filtered, labelled records; obs.tsv and qc.json."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.dna.options import IngestOptions
from genoprep.dna.steps import ingest
from genoprep.runtime import run_step


def main() -> None:
    out = snakemake.output
    options = IngestOptions.from_params(snakemake.params.options)
    ingest(options, list(snakemake.input.data), out.obs, out.qc)


run_step(snakemake.log[0], main)
