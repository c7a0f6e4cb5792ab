"""Rule fair_croissant: croissant.json (MLCommons Croissant 1.0) from the completed card and its artifacts."""

import os
import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # noqa: F821 - genoprep, also inside conda envs

from genoprep.fair.croissant import croissant_metadata  # noqa: E402
from genoprep.fair.io import read_completed_card  # noqa: E402
from genoprep.jsonio import write_json  # noqa: E402
from genoprep.runtime import run_step  # noqa: E402


def main() -> None:
    card_path = snakemake.input.card  # noqa: F821
    card, artifacts = read_completed_card(card_path)
    folder = os.path.dirname(card_path)
    write_json(croissant_metadata(folder, card, artifacts, os.path.basename(card_path)),
               snakemake.output.croissant)  # noqa: F821


run_step(snakemake.log[0], main)  # noqa: F821
