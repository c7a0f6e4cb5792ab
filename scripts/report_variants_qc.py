"""Rule report_variants_qc: MAF and missingness of the kept variants and samples (report figure)."""

import json
import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

import pandas as pd

from genoprep.plotting import save_figure
from genoprep.report.variants import qc_figure
from genoprep.runtime import run_step


def main() -> None:
    inputs = snakemake.input
    variants = pd.read_parquet(inputs.variants, columns=["MAF", "missing_rate"])
    samples = pd.read_csv(inputs.samples, sep="\t", dtype={"sample_id": str}, usecols=["sample_id", "missing_rate"])
    with open(inputs.qc, encoding="utf-8") as handle:
        qc = json.load(handle)
    save_figure(qc_figure(variants, samples, qc, snakemake.wildcards.dataset), snakemake.output.png)


run_step(snakemake.log[0], main)
