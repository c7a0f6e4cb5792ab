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
