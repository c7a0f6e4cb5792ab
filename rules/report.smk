# Report figures of the DNA and variants datasets (drawn from their finished artifacts) and a
# run summary of every dataset; `make report` (snakemake --report) collects them with their
# captions. Figure code: genoprep/report/.
#
# The DNA and variants figures are deterministic (same bytes on every run) and live in the
# dataset folder, registered in REPORTS like the scRNA/bulk QC figures (write_card takes them,
# so card.yaml checksums them). The run summary draws the benchmark files (wall time, peak
# memory), which differ between runs: it is written under RESULTS/.work/<dataset>/report/,
# after card.yaml, so that neither the card nor the folder's checksummed files depend on it.

import genoprep.report.workflow as report_workflow  # noqa: E402

REPORTS.setdefault("dna", []).extend(
    ["report_dna_sequences.png", "report_dna_tokens.png"]
)
REPORTS.setdefault("variants", []).extend(
    ["report_variants_qc.png", "report_variants_filters.png"]
)
# the run summary of every dataset (rule all requests it)
RUN_SUMMARIES = [
    os.path.join(RESULTS, ".work", dataset_id, "report", "run_summary.png")
    for dataset_id in sorted(CARDS)
]


rule report_dna_sequences:
    input:
        obs=out("obs.tsv"),
    output:
        png=report(
            out("report_dna_sequences.png", "dna"),
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
            out("report_dna_tokens.png", "dna"),
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
        card=out("card.yaml"),
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
