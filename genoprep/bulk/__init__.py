"""Bulk RNA-seq: expression tables (counts, TPM, FPKM/RPKM or log values) to ML matrices.

ingest (:mod:`genoprep.bulk.io`) -> normalise, log and filter genes
(:mod:`genoprep.bulk.preprocess`) -> per-sample QC (:mod:`genoprep.bulk.qc`) -> z-score and
export (:mod:`genoprep.bulk.export`); :mod:`genoprep.bulk.steps` has one function per
workflow step.
"""
