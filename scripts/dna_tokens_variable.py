"""Rule dna_tokens_variable: dnabert / nucleotide_transformer token ids -> tokens_<scheme>.parquet."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # noqa: F821 - genoprep, also inside conda envs

from genoprep.dna.options import SchemeOptions  # noqa: E402
from genoprep.dna.steps import tokens_variable  # noqa: E402
from genoprep.runtime import run_step  # noqa: E402


def main() -> None:
    options = SchemeOptions.from_params(snakemake.params.options)  # noqa: F821
    tokens_variable(options, list(snakemake.input.data), snakemake.output.tokens)  # noqa: F821


run_step(snakemake.log[0], main)  # noqa: F821
