"""Rule report_tasks: rows per split and class, and the baselines, of a dataset's task bundles."""

import json
import os
import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

import pandas as pd

from genoprep.plotting import save_figure
from genoprep.report.tasks import tasks_figure
from genoprep.runtime import run_step


def main() -> None:
    baselines = {}
    for path in snakemake.input.baselines:
        with open(path, encoding="utf-8") as handle:
            baselines[os.path.basename(os.path.dirname(path))] = json.load(handle)
    tasks = {}
    for path in snakemake.input.rows:
        task = os.path.basename(os.path.dirname(path))
        tasks[task] = (pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False), baselines.get(task))
    leakage = None
    for path in snakemake.input.split_qc:  # qc.json (scRNA-seq, bulk) or the DNA split step's record
        with open(path, encoding="utf-8") as handle:
            leakage = json.load(handle).get("leakage")
    save_figure(tasks_figure(tasks, snakemake.wildcards.dataset, leakage), snakemake.output.png)


run_step(snakemake.log[0], main)
