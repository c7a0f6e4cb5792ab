"""Rule scrna_tokens_section: the schemes' qc sections -> tokens.json and the completed card's facts."""

import json
import os
import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.jsonio import write_json
from genoprep.runtime import run_step
from genoprep.scrna.tokens.workflow import tokens_section


def main() -> None:
    sections = {}
    for path in snakemake.input.sections:
        with open(path, encoding="utf-8") as handle:
            sections[os.path.basename(path).removesuffix(".json")] = json.load(handle)
    tokens, facts = tokens_section(sections)
    write_json(tokens, snakemake.output.tokens)
    write_json(facts, snakemake.output.facts)


run_step(snakemake.log[0], main)
