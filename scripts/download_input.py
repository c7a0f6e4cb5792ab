"""Rule download_input: fetch a card input's url, checked against its sha256 before it gets its name."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.download import download
from genoprep.runtime import run_step


def main() -> None:
    source = snakemake.params.source
    download(source["url"], snakemake.output.data, source["sha256"])


run_step(snakemake.log[0], main)
