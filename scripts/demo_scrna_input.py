"""Rule demo_scrna_input: the PBMC-like demo counts and cell metadata."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # noqa: F821 - genoprep, also inside conda envs

from genoprep.demo import write_demo  # noqa: E402
from genoprep.runtime import run_step  # noqa: E402


def main() -> None:
    demo = snakemake.params.demo  # noqa: F821
    write_demo(snakemake.output.counts, snakemake.output.metadata,  # noqa: F821
               n_cells=demo["n_cells"], n_genes=demo["n_genes"], seed=demo["seed"])


run_step(snakemake.log[0], main)  # noqa: F821
