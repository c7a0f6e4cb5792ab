"""Rule bulk_ingest: the card's expression table (+ sample metadata) -> checked samples x genes AnnData."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.bulk.options import IngestOptions
from genoprep.bulk.steps import ingest
from genoprep.runtime import run_step


def main() -> None:
    options = IngestOptions.from_params(snakemake.params.options)
    metadata = snakemake.input.metadata[0] if snakemake.input.metadata else None
    gene_ids = snakemake.input.gene_ids[0] if snakemake.input.gene_ids else None
    sample_ids = snakemake.input.sample_ids[0] if snakemake.input.sample_ids else None
    adata = ingest(options, snakemake.input.data[0], metadata, gene_ids_path=gene_ids, sample_ids_path=sample_ids)
    adata.write_h5ad(snakemake.output.h5ad)


run_step(snakemake.log[0], main)
