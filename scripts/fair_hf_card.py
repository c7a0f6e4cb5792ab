"""Rule fair_hf_card: README.md, a Hugging Face dataset card, from the completed card and its artifacts."""

import os
import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.fair.hfcard import hf_card
from genoprep.fair.io import read_completed_card
from genoprep.runtime import run_step


def main() -> None:
    card_path = snakemake.input.card
    card, artifacts = read_completed_card(card_path)
    text = hf_card(os.path.dirname(card_path), card, artifacts)
    with open(snakemake.output.readme, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)


run_step(snakemake.log[0], main)
