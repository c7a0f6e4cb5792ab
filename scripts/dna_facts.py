"""Rule dna_facts: sizes, tokenizers (params, vocab sizes, shapes) and software -> RESULTS/.work/<id>/facts.json."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # noqa: F821 - genoprep, also inside conda envs

from genoprep.dna.options import FactsOptions  # noqa: E402
from genoprep.dna.steps import facts  # noqa: E402
from genoprep.jsonio import write_json  # noqa: E402
from genoprep.runtime import run_step  # noqa: E402


def main() -> None:
    inputs = snakemake.input  # noqa: F821
    options = FactsOptions.from_params(snakemake.params.options)  # noqa: F821
    write_json(facts(options, inputs.qc, list(inputs.artifacts)), snakemake.output.facts)  # noqa: F821


run_step(snakemake.log[0], main)  # noqa: F821
