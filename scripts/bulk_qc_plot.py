"""Rule bulk_qc_plot: the sample QC figure for the report."""

import json
import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.bulk.plots import qc_figure
from genoprep.plotting import save_figure
from genoprep.runtime import run_step


def main() -> None:
    with open(snakemake.input.qc, encoding="utf-8") as handle:
        qc = json.load(handle)
    save_figure(qc_figure(qc, title=snakemake.wildcards.dataset), snakemake.output.png)


run_step(snakemake.log[0], main)
