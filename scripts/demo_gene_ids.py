"""Rule demo_gene_ids: a gene-name -> synthetic Ensembl-style id dictionary for the demo's genes."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.runtime import run_step
from genoprep.scrna.tokens.workflow import write_synthetic_gene_ids


def main() -> None:
    write_synthetic_gene_ids(snakemake.input.counts, snakemake.output.ids)


run_step(snakemake.log[0], main)
