"""Killers for the mutants of genoprep/scrna/io.py and genoprep/scrna/convert.py
that survived the module tests (issue 16; docs/testing.md).

The `scrna_io` mutation group runs this file (bench/mutants.py GROUPS). Every expected value is hand-computed,
re-implemented here in plain numpy/pandas/h5py, or read with an independent library (scanpy, anndata, h5py),
never taken from genoprep's own output. Inputs are tiny and written in the test.
"""

from __future__ import annotations
