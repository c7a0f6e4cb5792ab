# scRNA-seq foundation-model tokens (issue 11): params.tokenizers of a card, any of
# geneformer, scgpt, rank -> <scheme>.parquet + tokens.json (default: none).
# Separate from the chain: the rules read the card's raw input (streamed from a CSR h5ad),
# the finished qc_cells.tsv and processed.h5ad (labels; scGPT's log-normalised values and
# HVGs). Definitions: docs/scrna_tokens.md and genoprep/scrna/tokens/ (workflow.py).

EXTRA_ARTIFACTS["scrna"] = scrna_tokens.artifact_names
EXTRA_FACTS["scrna"] = scrna_token_facts


rule scrna_gene_medians:
    input:
        unpack(name_id_file),
        data=primary_inputs,
        cells=out("qc_cells.tsv"),
    output:
        # the paths of genoprep.scrna.tokens.workflow.DERIVED
        medians=work("tokens/gene_median_dictionary.json", "scrna"),
        tokens=work("tokens/token_dictionary.json", "scrna"),
    log:
        out("logs/scrna_gene_medians.log"),
    benchmark:
        out("benchmarks/scrna_gene_medians.tsv")
    conda:
        "../envs/scrna.yaml"
    resources:
        mem_mb=input_mem_mb,
        runtime=60,
    params:
        options=token_options("geneformer"),
    script:
        "../scripts/scrna_gene_medians.py"


rule scrna_tokens:
    input:
        unpack(token_files),
        data=primary_inputs,
        cells=out("qc_cells.tsv"),
        processed=out("processed.h5ad"),
    output:
        tokens=out("{scheme}.parquet", "scrna"),
        section=work("tokens/{scheme}.json", "scrna"),
    log:
        out("logs/scrna_tokens_{scheme}.log"),
    benchmark:
        out("benchmarks/scrna_tokens_{scheme}.tsv")
    wildcard_constraints:
        scheme="geneformer|scgpt|rank",
    conda:
        "../envs/scrna.yaml"
    resources:
        mem_mb=input_mem_mb,
        runtime=60,
    params:
        options=token_options(),
    script:
        "../scripts/scrna_tokens.py"


rule scrna_tokens_section:
    input:
        sections=token_sections,
    output:
        tokens=out("tokens.json", "scrna"),
        facts=work("tokens/facts.json", "scrna"),
    log:
        out("logs/scrna_tokens_section.log"),
    conda:
        "../envs/scrna.yaml"
    script:
        "../scripts/scrna_tokens_section.py"
