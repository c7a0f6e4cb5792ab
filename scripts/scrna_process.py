"""Rule scrna_process: the whole scRNA-seq chain of one dataset, in one process."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.runtime import run_step
from genoprep.scrna.chain import ChainOptions, Job, Outputs, process
from genoprep.scrna.options import (
    EmbedOptions,
    HvgOptions,
    IngestOptions,
    MemoryOptions,
    NormalizeOptions,
    QcOptions,
    ScaleOptions,
)
from genoprep.scrna.splitting import TrainOnlyOptions
from genoprep.splits import SplitOptions
from genoprep.tasks.params import LeakageOptions


def main() -> None:
    params, inputs, output, logs = snakemake.params, snakemake.input, snakemake.output, snakemake.log
    options = ChainOptions(
        ingest=IngestOptions.from_params(params.ingest),
        qc=QcOptions.from_params(params.qc),
        normalize=NormalizeOptions.from_params(params.normalize),
        hvg=HvgOptions.from_params(params.hvg),
        scale=ScaleOptions.from_params(params.scale),
        embed=EmbedOptions.from_params(params.embed),
        split=SplitOptions.from_params(params.split),
        leakage=LeakageOptions.from_params(params.leakage),
        train_only=TrainOnlyOptions.from_params(params.train_only),
        memory=MemoryOptions.from_params(params.memory),
    )
    outputs = Outputs(
        processed=output.h5ad,
        x=output.x,
        features=output.features,
        obs=output.obs,
        qc=output.qc,
        cells=output.cells,
        facts=output.facts,
        steps=logs.steps,
        logs=params.logs,
    )
    metadata = inputs.metadata[0] if inputs.metadata else None
    process(Job(inputs.data[0], metadata, tuple(inputs.mito_genes), snakemake.wildcards.dataset, outputs), options)


run_step(snakemake.log.main, main)
