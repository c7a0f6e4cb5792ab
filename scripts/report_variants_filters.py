"""Rule report_variants_filters: variants and samples removed per filter (report figure)."""

import json
import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.plotting import save_figure
from genoprep.report.variants import filter_figure
from genoprep.runtime import run_step


def main() -> None:
    with open(snakemake.input.qc, encoding="utf-8") as handle:
        qc = json.load(handle)
    save_figure(filter_figure(qc, snakemake.wildcards.dataset), snakemake.output.png)


run_step(snakemake.log[0], main)
