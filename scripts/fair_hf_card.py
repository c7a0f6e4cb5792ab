"""Rule fair_hf_card: README.md, a Hugging Face dataset card, from the completed card and its artifacts."""

import os
import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # noqa: F821 - genoprep, also inside conda envs

from genoprep.fair.hfcard import hf_card  # noqa: E402
from genoprep.fair.io import read_completed_card  # noqa: E402
from genoprep.runtime import run_step  # noqa: E402


def main() -> None:
    card_path = snakemake.input.card  # noqa: F821
    card, artifacts = read_completed_card(card_path)
    text = hf_card(os.path.dirname(card_path), card, artifacts)
    with open(snakemake.output.readme, "w", encoding="utf-8", newline="\n") as handle:  # noqa: F821
        handle.write(text)


run_step(snakemake.log[0], main)  # noqa: F821
