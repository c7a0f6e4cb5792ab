"""Bulk RNA-seq: expression tables (counts, TPM, FPKM/RPKM or log values) to ML matrices.

read (:mod:`genoprep.bulk.io`) -> normalise, log and filter genes
(:mod:`genoprep.bulk.preprocess`) -> per-sample QC (:mod:`genoprep.bulk.qc`) -> z-score and
export; :mod:`genoprep.bulk.steps` has one function per workflow step, named after its rule,
each taking its slice of the card (:mod:`genoprep.bulk.options`).
"""
