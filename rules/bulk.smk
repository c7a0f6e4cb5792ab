# Bulk RNA-seq: expression table -> checked AnnData -> CPM/log1p + expression filter ->
# per-sample QC (flags, not removal) and the z-scored ML matrix. Each step is one script in
# scripts/ calling one function of genoprep.bulk.steps; docs/bulk.md has the definitions.

import genoprep.bulk.options as bulk_options  # noqa: E402
from genoprep.splits import SplitOptions  # noqa: E402
from genoprep.tasks.params import LeakageOptions  # noqa: E402

ARTIFACTS["bulk"] = ["processed.h5ad", "X.npy", "features.tsv", "obs.tsv", "qc.json"]
REPORTS["bulk"] = ["qc_samples.png"]


rule bulk_ingest:
    input:
        data=primary_inputs,
        metadata=metadata_input,
        gene_ids=input_sidecar("gene_ids_path"),
        sample_ids=input_sidecar("sample_ids_path"),
    output:
        h5ad=temp(work("bulk_ingested.h5ad", "bulk")),
    log:
        out("logs/bulk_ingest.log"),
    benchmark:
        out("benchmarks/bulk_ingest.tsv")
    conda:
        "../envs/bulk.yaml"
    resources:
        mem_mb=input_mem_mb,
        runtime=30,
    params:
        options=options_of(bulk_options.IngestOptions),
    script:
        "../scripts/bulk_ingest.py"


rule bulk_normalize:
    input:
        h5ad=rules.bulk_ingest.output.h5ad,
    output:
        h5ad=temp(work("bulk_normalized.h5ad", "bulk")),
    log:
        out("logs/bulk_normalize.log"),
    benchmark:
        out("benchmarks/bulk_normalize.tsv")
    conda:
        "../envs/bulk.yaml"
    resources:
        mem_mb=input_mem_mb,
        runtime=30,
    params:
        options=options_of(bulk_options.NormalizeOptions),
    script:
        "../scripts/bulk_normalize.py"


rule bulk_export:
    input:
        h5ad=rules.bulk_normalize.output.h5ad,
    output:
        qc=out("qc.json", "bulk"),
        h5ad=out("processed.h5ad", "bulk"),
        x=out("X.npy", "bulk"),
        features=out("features.tsv", "bulk"),
        obs=out("obs.tsv", "bulk"),
        facts=work("facts.json", "bulk"),
    log:
        out("logs/bulk_export.log"),
    benchmark:
        out("benchmarks/bulk_export.tsv")
    conda:
        "../envs/bulk.yaml"
    resources:
        mem_mb=input_mem_mb,
        runtime=30,
    params:
        options=options_of(bulk_options.ExportOptions),
        split=options_of(SplitOptions),
        leakage=options_of(LeakageOptions),
    script:
        "../scripts/bulk_export.py"


rule bulk_qc_plot:
    input:
        qc=rules.bulk_export.output.qc,
    output:
        png=report(
            out("qc_samples.png", "bulk"),
            caption="../resources/report/bulk_qc.rst",
            category="bulk RNA-seq QC",
        ),
    log:
        out("logs/bulk_qc_plot.log"),
    conda:
        "../envs/bulk.yaml"
    script:
        "../scripts/bulk_qc_plot.py"
