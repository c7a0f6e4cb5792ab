"""Rule scrna_shard_gather: processed.h5ad, X.npy, features.tsv, obs.tsv and the facts from the shards."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")

from genoprep.runtime import run_step
from genoprep.scrna import shard
from genoprep.scrna.chain import Outputs


def main() -> None:
    options, _ = shard.options_from(snakemake.params.chain)
    source = shard.job_source(snakemake.input, snakemake.wildcards.dataset, options)
    inputs, output, logs = snakemake.input, snakemake.output, snakemake.log
    dataset_logs = str(logs.steps).rsplit("/", 1)[0]
    outputs = Outputs(
        processed=output.h5ad,
        x=output.x,
        features=output.features,
        obs=output.obs,
        qc="",
        cells="",
        facts=output.facts,
        steps=logs.steps,
        logs=dataset_logs,
    )
    shard.gather(
        source,
        shard.shard_files(inputs),
        list(inputs.rows),
        list(inputs.blocks),
        inputs.hvg,
        outputs,
    )


run_step(snakemake.log.main, main)
