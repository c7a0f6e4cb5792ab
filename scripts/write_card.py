"""Rule write_card: the input card completed with computed facts and checksums."""

import json
import os
import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # noqa: F821 - genoprep, also inside conda envs

from genoprep.cards import write_yaml  # noqa: E402
from genoprep.provenance import completed_card, path_sha256  # noqa: E402
from genoprep.runtime import run_step  # noqa: E402


def main() -> None:
    inputs = snakemake.input  # noqa: F821
    with open(inputs.facts, encoding="utf-8") as handle:
        facts = json.load(handle)
    for path in inputs.extra_facts:  # EXTRA_FACTS of rules/common.smk (e.g. the scRNA token dictionaries)
        with open(path, encoding="utf-8") as handle:
            facts.update(json.load(handle))
    artifacts = {os.path.basename(p): path_sha256(p) for p in inputs.artifacts}
    metadata_sha = path_sha256(inputs.metadata[0]) if inputs.metadata else None
    card = completed_card(snakemake.params.card, facts, [path_sha256(p) for p in inputs.data],  # noqa: F821
                          metadata_sha, artifacts)
    write_yaml(card, snakemake.output.card)  # noqa: F821


run_step(snakemake.log[0], main)  # noqa: F821
