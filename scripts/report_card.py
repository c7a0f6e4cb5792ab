"""Rule report_card: the completed card as an HTML table for the report."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

import yaml

from genoprep.report.card import card_html
from genoprep.runtime import run_step


def main() -> None:
    with open(snakemake.input.card, encoding="utf-8") as handle:
        card = yaml.safe_load(handle)
    with open(snakemake.output.html, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(card_html(card, snakemake.input.card))


run_step(snakemake.log[0], main)
