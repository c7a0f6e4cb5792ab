"""Rule scrna_qc_plot: the QC figure for the report (histograms with thresholds), from qc_cells.tsv."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

import pandas as pd

from genoprep.plotting import save_figure
from genoprep.runtime import run_step
from genoprep.scrna.options import QcFigureOptions
from genoprep.scrna.plots import qc_figure


def main() -> None:
    cells = pd.read_csv(snakemake.input.cells, sep="\t", keep_default_na=False)
    options = QcFigureOptions.from_params(snakemake.params.options)
    figure = qc_figure(cells, options, title=snakemake.wildcards.dataset)
    save_figure(figure, snakemake.output.png)


run_step(snakemake.log[0], main)
