"""Rule fair_croissant: croissant.json (MLCommons Croissant 1.0) from the completed card and its artifacts."""

import os
import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.fair.croissant import croissant_metadata
from genoprep.fair.io import read_completed_card
from genoprep.jsonio import write_json
from genoprep.runtime import run_step


def main() -> None:
    card_path = snakemake.input.card
    card, artifacts = read_completed_card(card_path)
    folder = os.path.dirname(card_path)
    write_json(croissant_metadata(folder, card, artifacts, os.path.basename(card_path)), snakemake.output.croissant)


run_step(snakemake.log[0], main)
