# scRNA-seq: raw counts -> QC -> normalize_total + log1p -> HVG -> scaled ML matrix.
# One job per dataset (scrna_process) runs the whole chain in one process; each step is
# its own function in genoprep.scrna.steps. The QC figure is drawn from the finished
# per-cell QC table. With params.split.enabled the chain also assigns the splits (a split
# column in obs.tsv / processed.h5ad; splits.tsv is cut from obs.tsv by rule split_table in
# rules/tasks.smk) and fits HVGs and scaling on the train cells; scrna_augment writes the
# augmented count files the card asks for (params.augment), inside each split.

from genoprep.splits import SplitOptions  # noqa: E402
from genoprep.tasks.params import (
    AugmentOptions,
    LeakageOptions,
    TaskOptions,
)  # noqa: E402

ARTIFACTS["scrna"] = [
    "processed.h5ad",
    "X.npy",
    "features.tsv",
    "obs.tsv",
    "qc.json",
    "qc_cells.tsv",
]
REPORTS["scrna"] = ["qc_metrics.png"]


rule scrna_process:
    input:
        data=primary_inputs,
        metadata=metadata_input,
        mito_genes=MITO_GENE_LISTS,
    output:
        h5ad=out("processed.h5ad", "scrna_one_job"),
        x=out("X.npy", "scrna_one_job"),
        features=out("features.tsv", "scrna_one_job"),
        obs=out("obs.tsv", "scrna_one_job"),
        qc=out("qc.json", "scrna_one_job"),
        cells=out("qc_cells.tsv", "scrna_one_job"),
        facts=work("facts.json", "scrna_one_job"),
    log:
        main=out("logs/scrna_process.log"),
        steps=out("logs/scrna_process_steps.tsv"),
    benchmark:
        out("benchmarks/scrna_process.tsv")
    conda:
        "../envs/scrna.yaml"
    threads: scrna_threads
    resources:
        mem_mb=scrna_mem_mb,
        disk_mb=scrna_disk_mb,
        runtime=scrna_runtime,
    params:
        ingest=options_of(ScrnaOptions.IngestOptions),
        qc=options_of(ScrnaOptions.QcOptions),
        normalize=options_of(ScrnaOptions.NormalizeOptions),
        hvg=options_of(ScrnaOptions.HvgOptions),
        scale=options_of(ScrnaOptions.ScaleOptions),
        embed=options_of(ScrnaOptions.EmbedOptions),
        split=options_of(SplitOptions),
        leakage=options_of(LeakageOptions),
        # by name: genoprep.scrna.splitting imports pandas and scipy (see options_of)
        train_only=options_of("genoprep.scrna.splitting:TrainOnlyOptions"),
        memory=options_of(ScrnaOptions.MemoryOptions),
        logs=lambda wildcards: os.path.join(RESULTS, wildcards.dataset, "logs"),
    script:
        "../scripts/scrna_process.py"


rule scrna_qc_plot:
    input:
        cells=out("qc_cells.tsv"),
    output:
        png=report(
            out("qc_metrics.png", "scrna"),
            caption="../resources/report/scrna_qc.rst",
            category="scRNA-seq QC",
        ),
    log:
        out("logs/scrna_qc_plot.log"),
    conda:
        "../envs/scrna.yaml"
    params:
        options=options_of(ScrnaOptions.QcFigureOptions),
    script:
        "../scripts/scrna_qc_plot.py"


rule scrna_augment:
    input:
        h5ad=out("processed.h5ad"),
    output:
        h5ad=out("augmented_{kind}.h5ad", "scrna"),
        facts=work("augment_{kind}.json", "scrna"),
    log:
        out("logs/scrna_augment_{kind}.log"),
    benchmark:
        out("benchmarks/scrna_augment_{kind}.tsv")
    wildcard_constraints:
        kind="downsampled|doublets",
    conda:
        "../envs/scrna.yaml"
    resources:
        mem_mb=input_mem_mb,
        runtime=30,
    params:
        augment=options_of(AugmentOptions),
        tasks=options_of(TaskOptions),
    script:
        "../scripts/scrna_augment.py"
