"""Rule report_run_summary: wall time and peak memory per rule of a dataset (report figure,
outside the dataset folder: benchmark numbers differ between runs)."""

import glob
import os
import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.plotting import save_figure
from genoprep.report.run import read_benchmarks, run_summary_figure
from genoprep.runtime import run_step


def main() -> None:
    files = glob.glob(os.path.join(snakemake.params.benchmarks, "*.tsv"))
    figure = run_summary_figure(read_benchmarks(files), snakemake.wildcards.dataset)
    save_figure(figure, snakemake.output.png)


run_step(snakemake.log[0], main)
