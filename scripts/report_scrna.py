"""Rule report_scrna: the HVG plot, PCA/UMAP by label and the cells removed per filter (report figures)."""

import json
import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

import pandas as pd

from genoprep.plotting import save_figure
from genoprep.report import embedding
from genoprep.runtime import run_step


def main() -> None:
    inputs, output, dataset = snakemake.input, snakemake.output, snakemake.wildcards.dataset
    processed = embedding.read_processed(inputs.h5ad)
    obs = pd.read_csv(inputs.obs, sep="\t", dtype=str, keep_default_na=False)
    with open(inputs.qc, encoding="utf-8") as handle:
        qc = json.load(handle)
    save_figure(embedding.hvg_figure(processed.var, f"{dataset}: highly variable genes"), output.hvg)
    labels = embedding.label_columns(obs, embedding.SCRNA_LABELS)
    figure = embedding.embedding_figure(processed.obsm, labels, f"{dataset}: processed cells", processed.variance_ratio)
    save_figure(figure, output.embedding)
    save_figure(embedding.cells_removed_figure(qc, dataset), output.filters)


run_step(snakemake.log[0], main)
