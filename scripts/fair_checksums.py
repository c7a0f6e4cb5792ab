"""Rule fair_checksums: fair.sha256 (sha256sum format) of card.yaml, croissant.json and README.md."""

import os
import sys
from pathlib import Path

sys.path.insert(0, snakemake.scriptdir + "/..")  # noqa: F821 - genoprep, also inside conda envs

from genoprep.provenance import file_sha256  # noqa: E402
from genoprep.runtime import run_step  # noqa: E402
from genoprep.verify import write_sha256sum  # noqa: E402


def main() -> None:
    inputs = snakemake.input  # noqa: F821
    digests = {os.path.basename(p): file_sha256(p) for p in (inputs.card, inputs.croissant, inputs.readme)}
    write_sha256sum(digests, Path(snakemake.output.checksums))  # noqa: F821


run_step(snakemake.log[0], main)  # noqa: F821
