"""Rule demo_scrna_input: the PBMC-like demo counts and cell metadata."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.demo import write_demo
from genoprep.runtime import run_step


def main() -> None:
    demo = snakemake.params.demo
    write_demo(
        snakemake.output.counts,
        snakemake.output.metadata,
        n_cells=demo["n_cells"],
        n_genes=demo["n_genes"],
        seed=demo["seed"],
    )


run_step(snakemake.log[0], main)
