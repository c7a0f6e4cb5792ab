"""Rule bulk_ingest: the card's expression table (+ sample metadata) -> checked samples x genes AnnData."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # noqa: F821 - genoprep, also inside conda envs

from genoprep.bulk.options import IngestOptions  # noqa: E402
from genoprep.bulk.steps import ingest  # noqa: E402
from genoprep.runtime import run_step  # noqa: E402


def main() -> None:
    options = IngestOptions.from_params(snakemake.params.options)  # noqa: F821
    metadata = snakemake.input.metadata[0] if snakemake.input.metadata else None  # noqa: F821
    adata = ingest(options, snakemake.input.data[0], metadata)  # noqa: F821
    adata.write_h5ad(snakemake.output.h5ad)  # noqa: F821


run_step(snakemake.log[0], main)  # noqa: F821
