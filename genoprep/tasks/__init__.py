"""Benchmark task bundles built on the finished modality artifacts (see docs/tasks.md).

* :mod:`~genoprep.tasks.params` — the shared ``split``/``leakage``/``tasks``/``augment`` params;
* :mod:`~genoprep.tasks.train_only` — scaling and HVG fitted on train rows only;
* :mod:`~genoprep.tasks.bundle` — bundle files, deterministic ``.npz``, ``task.yaml``;
* :mod:`~genoprep.tasks.fasta` — indexed reference access (``.fai`` layout);
* :mod:`~genoprep.tasks.variant_effect` — ref/alt windows of labelled variants;
* :mod:`~genoprep.tasks.builders` — the annotation, expression and sequence bundles;
* :mod:`~genoprep.tasks.baselines` — quick scikit-learn baselines with shuffled-label controls.
"""
