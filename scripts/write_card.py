"""Rule write_card: the input card completed with computed facts and checksums."""

import json
import os
import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.cards import write_yaml
from genoprep.provenance import completed_card, path_sha256
from genoprep.runtime import run_step


def main() -> None:
    inputs = snakemake.input
    with open(inputs.facts, encoding="utf-8") as handle:
        facts = json.load(handle)
    artifacts = {os.path.basename(p): path_sha256(p) for p in inputs.artifacts}
    metadata_sha = path_sha256(inputs.metadata[0]) if inputs.metadata else None
    card = completed_card(snakemake.params.card, facts, [path_sha256(p) for p in inputs.data], metadata_sha, artifacts)
    write_yaml(card, snakemake.output.card)


run_step(snakemake.log[0], main)
