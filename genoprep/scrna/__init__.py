"""Single-cell RNA-seq: ingest, QC, normalisation, highly variable genes, scaling, export."""
