"""genoprep: raw genomics data to benchmark-ready machine-learning artifacts.

The package holds the science (pure, typed functions with no knowledge of Snakemake);
the workflow's ``scripts/`` are thin adapters around it.
"""

__version__ = "0.1.0"
