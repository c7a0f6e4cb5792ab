"""Rule report_bulk: PCA by label and the sample-sample correlation heatmap annotated by the labels."""

import json
import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

import pandas as pd

from genoprep.bulk.steps import QC_OBS
from genoprep.plotting import save_figure
from genoprep.report import embedding
from genoprep.runtime import run_step


def main() -> None:
    inputs, output, dataset = snakemake.input, snakemake.output, snakemake.wildcards.dataset
    processed = embedding.read_processed(inputs.h5ad)
    obs = pd.read_csv(inputs.obs, sep="\t", dtype=str, keep_default_na=False)
    labels = embedding.label_columns(obs, [c for c in obs.columns if c != "sample_id" and c not in QC_OBS])
    with open(inputs.qc, encoding="utf-8") as handle:
        qc = json.load(handle)
    figure = embedding.embedding_figure(processed.obsm, labels, f"{dataset}: samples", processed.variance_ratio)
    save_figure(figure, output.pca)
    # the heatmap's sample order is qc.json's; the strips follow it
    order = pd.Index(obs["sample_id"]).get_indexer(qc["correlation"]["samples"])
    strips = {name: values[order] for name, values in labels.items()}
    save_figure(embedding.correlation_figure(qc, strips, f"{dataset}: sample-sample correlation"), output.correlation)


run_step(snakemake.log[0], main)
