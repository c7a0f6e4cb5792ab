"""Rule dna_facts: sizes, tokenizers (params, vocab sizes, shapes) and software -> RESULTS/.work/<id>/facts.json."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.dna.options import FactsOptions
from genoprep.dna.steps import facts
from genoprep.jsonio import write_json
from genoprep.runtime import run_step


def main() -> None:
    inputs = snakemake.input
    options = FactsOptions.from_params(snakemake.params.options)
    write_json(facts(options, inputs.qc, list(inputs.artifacts)), snakemake.output.facts)


run_step(snakemake.log[0], main)
