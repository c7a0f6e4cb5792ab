# scRNA-seq: raw counts -> QC -> normalize_total + log1p -> HVG -> scaled ML matrix.
# Each step is one script in scripts/ calling one function of genoprep.scrna.steps.

ARTIFACTS["scrna"] = [
    "processed.h5ad",
    "X.npy",
    "features.tsv",
    "obs.tsv",
    "qc.json",
    "qc_cells.tsv",
]
REPORTS["scrna"] = ["qc_metrics.png"]


rule scrna_ingest:
    input:
        data=primary_inputs,
        metadata=metadata_input,
    output:
        h5ad=temp(work("ingested.h5ad", "scrna")),
    log:
        out("logs/scrna_ingest.log"),
    benchmark:
        out("benchmarks/scrna_ingest.tsv")
    conda:
        "../envs/scrna.yaml"
    resources:
        mem_mb=input_mem_mb,
        runtime=30,
    params:
        card=card_data,
    script:
        "../scripts/scrna_ingest.py"


rule scrna_qc:
    input:
        h5ad=work("ingested.h5ad"),
        mito_genes=MITO_GENE_LISTS,
    output:
        h5ad=temp(work("filtered.h5ad", "scrna")),
        qc=out("qc.json", "scrna"),
        cells=out("qc_cells.tsv", "scrna"),
    log:
        out("logs/scrna_qc.log"),
    benchmark:
        out("benchmarks/scrna_qc.tsv")
    conda:
        "../envs/scrna.yaml"
    resources:
        mem_mb=input_mem_mb,
        runtime=30,
    params:
        qc=card_params,
    script:
        "../scripts/scrna_qc.py"


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
        qc=card_params,
    script:
        "../scripts/scrna_qc_plot.py"


rule scrna_normalize:
    input:
        h5ad=work("filtered.h5ad"),
    output:
        h5ad=temp(work("normalized.h5ad", "scrna")),
    log:
        out("logs/scrna_normalize.log"),
    benchmark:
        out("benchmarks/scrna_normalize.tsv")
    conda:
        "../envs/scrna.yaml"
    resources:
        mem_mb=input_mem_mb,
        runtime=30,
    params:
        normalize=card_params,
    script:
        "../scripts/scrna_normalize.py"


rule scrna_hvg:
    input:
        h5ad=work("normalized.h5ad"),
    output:
        h5ad=out("processed.h5ad", "scrna"),
    log:
        out("logs/scrna_hvg.log"),
    benchmark:
        out("benchmarks/scrna_hvg.tsv")
    conda:
        "../envs/scrna.yaml"
    resources:
        mem_mb=input_mem_mb,
        runtime=30,
    params:
        hvg=card_params,
    script:
        "../scripts/scrna_hvg.py"


rule scrna_scale:
    input:
        h5ad=out("processed.h5ad"),
    output:
        x=out("X.npy", "scrna"),
        features=out("features.tsv", "scrna"),
        obs=out("obs.tsv", "scrna"),
        facts=work("facts.json", "scrna"),
    log:
        out("logs/scrna_scale.log"),
    benchmark:
        out("benchmarks/scrna_scale.tsv")
    conda:
        "../envs/scrna.yaml"
    resources:
        mem_mb=input_mem_mb,
        runtime=30,
    params:
        scale=card_params,
    script:
        "../scripts/scrna_scale.py"
