"""Rule download_input: fetch a card input's url, checked against its sha256 before it gets its name."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # noqa: F821 - genoprep, also inside conda envs

from genoprep.download import download  # noqa: E402
from genoprep.runtime import run_step  # noqa: E402


def main() -> None:
    source = snakemake.params.source  # noqa: F821
    download(source["url"], snakemake.output.data, source["sha256"])  # noqa: F821


run_step(snakemake.log[0], main)  # noqa: F821
