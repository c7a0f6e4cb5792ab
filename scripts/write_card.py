"""Rule write_card: the input card completed with computed facts and the checksums of every file."""

import json
import os
import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.cards import write_yaml
from genoprep.provenance import completed_card, dataset_files, path_sha256
from genoprep.runtime import console, run_step
from genoprep.verify import FAIR_FILES


def main() -> None:
    inputs = snakemake.input
    folder = os.path.dirname(snakemake.output.card)
    with open(inputs.facts, encoding="utf-8") as handle:
        facts = json.load(handle)
    for path in inputs.extra_facts:  # EXTRA_FACTS of rules/common.smk (e.g. the scRNA token dictionaries)
        with open(path, encoding="utf-8") as handle:
            facts.update(json.load(handle))
    artifacts = {os.path.relpath(p, folder): path_sha256(p) for p in inputs.artifacts}
    figures = {os.path.relpath(p, folder): path_sha256(p) for p in inputs.reports}
    others = {
        name: path_sha256(os.path.join(folder, name))
        for name in dataset_files(folder, [a for a in artifacts if os.path.isdir(os.path.join(folder, a))])
        if name not in artifacts and name not in figures and name not in FAIR_FILES
    }
    if others:
        console(
            f"{folder}: {len(others)} files this run did not make are in the dataset folder "
            f"({', '.join(sorted(others)[:5])}); they are listed in card.yaml under computed.other_files_sha256"
        )
    metadata_sha = path_sha256(inputs.metadata[0]) if inputs.metadata else None
    card = completed_card(
        snakemake.params.card,
        facts,
        [path_sha256(p) for p in inputs.data],
        metadata_sha,
        artifacts,
        figures,
        others,
    )
    write_yaml(card, snakemake.output.card)


run_step(snakemake.log[0], main)
