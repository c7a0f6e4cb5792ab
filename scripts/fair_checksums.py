"""Rule fair_checksums: fair.sha256 (sha256sum format) of card.yaml, croissant.json and README.md."""

import os
import sys
from pathlib import Path

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.provenance import file_sha256
from genoprep.runtime import run_step
from genoprep.verify import write_sha256sum


def main() -> None:
    inputs = snakemake.input
    digests = {os.path.basename(p): file_sha256(p) for p in (inputs.card, inputs.croissant, inputs.readme)}
    write_sha256sum(digests, Path(snakemake.output.checksums))


run_step(snakemake.log[0], main)
