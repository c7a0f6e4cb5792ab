"""Rule scrna_tokens_section: the schemes' qc sections -> tokens.json and the completed card's facts."""

import json
import os
import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # noqa: F821 - genoprep, also inside conda envs

from genoprep.jsonio import write_json  # noqa: E402
from genoprep.runtime import run_step  # noqa: E402
from genoprep.scrna.tokens.workflow import tokens_section  # noqa: E402


def main() -> None:
    sections = {}
    for path in snakemake.input.sections:  # noqa: F821
        with open(path, encoding="utf-8") as handle:
            sections[os.path.basename(path).removesuffix(".json")] = json.load(handle)
    tokens, facts = tokens_section(sections)
    write_json(tokens, snakemake.output.tokens)  # noqa: F821
    write_json(facts, snakemake.output.facts)  # noqa: F821


run_step(snakemake.log[0], main)  # noqa: F821
