# Report figures of the DNA and variants datasets (drawn from their finished artifacts) and a
# run summary of every dataset; `make report` (snakemake --report) collects them with their
# captions. Figure code: genoprep/report/.
#
# The scRNA-seq (HVG, PCA/UMAP, filters), bulk (PCA, annotated correlation), DNA and variants
# figures are deterministic (same bytes on every run) and live in the
# dataset folder, registered in REPORTS like the scRNA/bulk QC figures (write_card takes them,
# so card.yaml checksums them). The run summary draws the benchmark files (wall time, peak
# memory), which differ between runs: it is written under RESULTS/.work/<dataset>/report/,
# after card.yaml, so that neither the card nor the folder's checksummed files depend on it;
# so is the completed card as an HTML table (report_card).

import genoprep.report.workflow as report_workflow  # noqa: E402

REPORTS.setdefault("dna", []).extend(
    ["report_dna_sequences.png", "report_dna_tokens.png"]
)
REPORTS.setdefault("variants", []).extend(
    ["report_variants_qc.png", "report_variants_filters.png"]
)
REPORTS.setdefault("scrna", []).extend(
    ["report_scrna_hvg.png", "report_scrna_embedding.png", "report_scrna_filters.png"]
)
REPORTS.setdefault("bulk", []).extend(
    ["report_bulk_pca.png", "report_bulk_correlation.png"]
)
# the token figure of a scRNA-seq dataset with foundation-model tokens (params.tokenizers)
REPORTS["scrna"].append(
    lambda card: ["report_scrna_tokens.png"] if card.params["tokenizers"] else []
)
# the task figure, for datasets whose artifacts hold task bundles (params.tasks.names)
for modality in ("scrna", "bulk", "dna", "variant_effect"):
    REPORTS.setdefault(modality, []).append(
        lambda card: ["report_tasks.png"] if task_bundles(artifact_names(card)) else []
    )
# the run summary and the completed card as a table, of every dataset (rule all requests them)
RUN_SUMMARIES = [
    os.path.join(RESULTS, ".work", dataset_id, "report", name)
    for dataset_id in sorted(CARDS)
    for name in ("run_summary.png", "card.html")
]


rule report_dna_sequences:
    input:
        obs=rules.dna_ingest.output.obs,
    output:
        png=report(
            out("report_dna_sequences.png"),
            caption="../resources/report/dna_sequences.rst",
            category="DNA",
            subcategory="{dataset}",
        ),
    log:
        out("logs/report_dna_sequences.log"),
    conda:
        "../envs/report.yaml"
    resources:
        mem_mb=1024,
        runtime=10,
    script:
        "../scripts/report_dna_sequences.py"


rule report_dna_tokens:
    input:
        tokens=lambda wildcards: [
            os.path.join(RESULTS, wildcards.dataset, name)
            for name in report_workflow.token_files(card_params(wildcards))
        ],
    output:
        png=report(
            out("report_dna_tokens.png"),
            caption="../resources/report/dna_tokens.rst",
            category="DNA",
            subcategory="{dataset}",
        ),
    log:
        out("logs/report_dna_tokens.log"),
    conda:
        "../envs/report.yaml"
    resources:
        mem_mb=2048,
        runtime=20,
    params:
        schemes=lambda wildcards: report_workflow.token_settings(card_params(wildcards)),
    script:
        "../scripts/report_dna_tokens.py"


rule report_scrna_tokens:
    input:
        tokens=lambda wildcards: [
            os.path.join(RESULTS, wildcards.dataset, name)
            for name in scrna_tokens.artifact_names(card_of(wildcards))
            if name.endswith(".parquet")
        ],
        section=out("tokens.json"),
    output:
        png=report(
            out("report_scrna_tokens.png", "scrna"),
            caption="../resources/report/scrna_tokens.rst",
            category="scRNA-seq",
            subcategory="{dataset}",
        ),
    log:
        out("logs/report_scrna_tokens.log"),
    conda:
        "../envs/report.yaml"
    resources:
        mem_mb=2048,
        runtime=20,
    script:
        "../scripts/report_scrna_tokens.py"


rule report_variants_qc:
    input:
        variants=out("variants.parquet"),
        samples=out("samples.tsv"),
        qc=out("qc.json"),
    output:
        png=report(
            out("report_variants_qc.png", "variants"),
            caption="../resources/report/variants_qc.rst",
            category="Variants",
            subcategory="{dataset}",
        ),
    log:
        out("logs/report_variants_qc.log"),
    conda:
        "../envs/report.yaml"
    resources:
        mem_mb=input_mem_mb,
        runtime=10,
    script:
        "../scripts/report_variants_qc.py"


rule report_variants_filters:
    input:
        qc=out("qc.json"),
    output:
        png=report(
            out("report_variants_filters.png", "variants"),
            caption="../resources/report/variants_filters.rst",
            category="Variants",
            subcategory="{dataset}",
        ),
    log:
        out("logs/report_variants_filters.log"),
    conda:
        "../envs/report.yaml"
    resources:
        mem_mb=1024,
        runtime=10,
    script:
        "../scripts/report_variants_filters.py"


rule report_run_summary:
    input:
        # every other step of the dataset has run (and written its benchmark) by then
        card=rules.write_card.output.card,
    output:
        png=report(
            work("report/run_summary.png"),
            caption="../resources/report/run_summary.rst",
            category="Run summary",
            subcategory="{dataset}",
        ),
    log:
        out("logs/report_run_summary.log"),
    conda:
        "../envs/report.yaml"
    resources:
        mem_mb=1024,
        runtime=10,
    params:
        benchmarks=lambda wildcards: os.path.join(
            RESULTS, wildcards.dataset, "benchmarks"
        ),
    script:
        "../scripts/report_run_summary.py"


rule report_scrna:
    input:
        h5ad=out("processed.h5ad"),
        obs=out("obs.tsv"),
        qc=out("qc.json"),
    output:
        hvg=report(
            out("report_scrna_hvg.png", "scrna"),
            caption="../resources/report/scrna_hvg.rst",
            category="scRNA-seq",
            subcategory="{dataset}",
        ),
        embedding=report(
            out("report_scrna_embedding.png", "scrna"),
            caption="../resources/report/scrna_embedding.rst",
            category="scRNA-seq",
            subcategory="{dataset}",
        ),
        filters=report(
            out("report_scrna_filters.png", "scrna"),
            caption="../resources/report/scrna_filters.rst",
            category="scRNA-seq",
            subcategory="{dataset}",
        ),
    log:
        out("logs/report_scrna.log"),
    conda:
        "../envs/report.yaml"
    resources:
        mem_mb=input_mem_mb,
        runtime=10,
    script:
        "../scripts/report_scrna.py"


rule report_bulk:
    input:
        h5ad=out("processed.h5ad"),
        obs=out("obs.tsv"),
        qc=out("qc.json"),
    output:
        pca=report(
            out("report_bulk_pca.png", "bulk"),
            caption="../resources/report/bulk_pca.rst",
            category="Bulk RNA-seq",
            subcategory="{dataset}",
        ),
        correlation=report(
            out("report_bulk_correlation.png", "bulk"),
            caption="../resources/report/bulk_correlation.rst",
            category="Bulk RNA-seq",
            subcategory="{dataset}",
        ),
    log:
        out("logs/report_bulk.log"),
    conda:
        "../envs/report.yaml"
    resources:
        mem_mb=1024,
        runtime=10,
    script:
        "../scripts/report_bulk.py"


rule report_card:
    input:
        card=rules.write_card.output.card,
    output:
        html=report(
            work("report/card.html"),
            caption="../resources/report/card.rst",
            category="Completed cards",
            subcategory="{dataset}",
        ),
    log:
        out("logs/report_card.log"),
    conda:
        "../envs/report.yaml"
    resources:
        mem_mb=512,
        runtime=5,
    script:
        "../scripts/report_card.py"


rule report_tasks:
    input:
        unpack(task_report_inputs),
    output:
        png=report(
            out("report_tasks.png"),
            caption="../resources/report/tasks.rst",
            category="Tasks",
            subcategory="{dataset}",
        ),
    log:
        out("logs/report_tasks.log"),
    conda:
        "../envs/report.yaml"
    resources:
        mem_mb=1024,
        runtime=10,
    script:
        "../scripts/report_tasks.py"
