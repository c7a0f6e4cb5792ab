"""Rule scrna_qc_plot: the QC figure for the report (histograms with thresholds), from qc_cells.tsv."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # noqa: F821 - genoprep, also inside conda envs

import pandas as pd

from genoprep.plotting import save_figure
from genoprep.runtime import run_step
from genoprep.scrna.options import QcFigureOptions
from genoprep.scrna.plots import qc_figure


def main() -> None:
    cells = pd.read_csv(snakemake.input.cells, sep="\t", keep_default_na=False)  # noqa: F821
    options = QcFigureOptions.from_params(snakemake.params.options)  # noqa: F821
    figure = qc_figure(cells, options, title=snakemake.wildcards.dataset)  # noqa: F821
    save_figure(figure, snakemake.output.png)  # noqa: F821


run_step(snakemake.log[0], main)  # noqa: F821
