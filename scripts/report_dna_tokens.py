"""Rule report_dna_tokens: tokens per sequence of each tokenization scheme (report figure)."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.plotting import save_figure
from genoprep.report.dna import token_length_figure, token_lengths
from genoprep.runtime import run_step


def main() -> None:
    schemes = snakemake.params.schemes  # {scheme: settings}, in the card's order
    files = list(snakemake.input.tokens)  # the token file of each scheme, in the same order
    lengths = {
        scheme: token_lengths(path, scheme, settings)
        for (scheme, settings), path in zip(schemes.items(), files, strict=True)
    }
    save_figure(token_length_figure(lengths, snakemake.wildcards.dataset), snakemake.output.png)


run_step(snakemake.log[0], main)
