"""Rule bulk_qc_plot: the sample QC figure for the report."""

import json
import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # noqa: F821 - genoprep, also inside conda envs

from genoprep.bulk.plots import qc_figure  # noqa: E402
from genoprep.plotting import save_figure  # noqa: E402
from genoprep.runtime import run_step  # noqa: E402


def main() -> None:
    with open(snakemake.input.qc, encoding="utf-8") as handle:  # noqa: F821
        qc = json.load(handle)
    save_figure(qc_figure(qc, title=snakemake.wildcards.dataset), snakemake.output.png)  # noqa: F821


run_step(snakemake.log[0], main)  # noqa: F821
