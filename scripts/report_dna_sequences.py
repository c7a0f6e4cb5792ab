"""Rule report_dna_sequences: length, GC and N fraction per class of a DNA dataset (report figure)."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.plotting import save_figure
from genoprep.report.dna import read_obs, sequence_figure
from genoprep.runtime import run_step


def main() -> None:
    obs = read_obs(snakemake.input.obs)
    save_figure(sequence_figure(obs, snakemake.wildcards.dataset), snakemake.output.png)


run_step(snakemake.log[0], main)
