"""Rule dna_tokens_fixed: char / hyenadna token ids -> tokens_<scheme>.npy (sequences x max_len)."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # noqa: F821 - genoprep, also inside conda envs

from genoprep.dna.steps import write_scheme_tokens  # noqa: E402
from genoprep.runtime import run_step  # noqa: E402


def main() -> None:
    write_scheme_tokens(snakemake.params.card, list(snakemake.input.data),  # noqa: F821
                        snakemake.wildcards.scheme, snakemake.output.tokens)  # noqa: F821


run_step(snakemake.log[0], main)  # noqa: F821
