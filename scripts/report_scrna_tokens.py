"""Rule report_scrna_tokens: tokens per cell of each foundation-model token table of a dataset."""

import json
import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.plotting import save_figure
from genoprep.report.scrna_tokens import tokens_figure
from genoprep.runtime import run_step


def main() -> None:
    with open(snakemake.input.section, encoding="utf-8") as handle:
        sections = json.load(handle)
    figure = tokens_figure(list(snakemake.input.tokens), sections, snakemake.wildcards.dataset)
    save_figure(figure, snakemake.output.png)


run_step(snakemake.log[0], main)
