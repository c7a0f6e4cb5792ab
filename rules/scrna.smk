# scRNA-seq: raw counts -> QC -> normalize_total + log1p -> HVG -> scaled ML matrix.
# One job per dataset (scrna_process) runs the whole chain in one process; each step is
# its own function in genoprep.scrna.steps. The QC figure is drawn from the finished
# per-cell QC table.

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
        h5ad=out("processed.h5ad", "scrna"),
        x=out("X.npy", "scrna"),
        features=out("features.tsv", "scrna"),
        obs=out("obs.tsv", "scrna"),
        qc=out("qc.json", "scrna"),
        cells=out("qc_cells.tsv", "scrna"),
        facts=work("facts.json", "scrna"),
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
        runtime=scrna_runtime,
    params:
        ingest=options_of(ScrnaOptions.IngestOptions),
        qc=options_of(ScrnaOptions.QcOptions),
        normalize=options_of(ScrnaOptions.NormalizeOptions),
        hvg=options_of(ScrnaOptions.HvgOptions),
        scale=options_of(ScrnaOptions.ScaleOptions),
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
