# Demo inputs for the embedded default run, generated deterministically from config.demo.


rule demo_scrna_input:
    output:
        counts="resources/demo/pbmc_demo_counts.csv.gz",
        metadata="resources/demo/pbmc_demo_cells.tsv",
    log:
        "resources/demo/logs/demo_scrna_input.log",
    conda:
        "../envs/base.yaml"
    params:
        demo=config["demo"],
    script:
        "../scripts/demo_scrna_input.py"


rule demo_gene_ids:
    # synthetic Ensembl-style ids for the demo's simulated gene symbols, so that the demo's
    # Geneformer tokens (dictionaries derived from the demo itself) have ids to key on
    input:
        counts="resources/demo/pbmc_demo_counts.csv.gz",
    output:
        ids="resources/demo/pbmc_demo_gene_ids.json",
    log:
        "resources/demo/logs/demo_gene_ids.log",
    conda:
        "../envs/base.yaml"
    script:
        "../scripts/demo_gene_ids.py"
