"""Rule dna_ingest: the card's FASTA / table inputs -> validated, filtered, labelled records; obs.tsv and qc.json."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # noqa: F821 - genoprep, also inside conda envs

from genoprep.dna.options import IngestOptions  # noqa: E402
from genoprep.dna.steps import ingest  # noqa: E402
from genoprep.runtime import run_step  # noqa: E402


def main() -> None:
    out = snakemake.output  # noqa: F821
    options = IngestOptions.from_params(snakemake.params.options)  # noqa: F821
    ingest(options, list(snakemake.input.data), out.obs, out.qc)  # noqa: F821


run_step(snakemake.log[0], main)  # noqa: F821
