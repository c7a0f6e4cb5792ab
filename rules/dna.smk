# DNA sequences: FASTA / sequence tables -> validated records, obs.tsv + qc.json (dna_ingest)
# -> one artifact per tokenization scheme of the card (dna_tokens_fixed, dna_tokens_variable,
# dna_kmer_counts, dna_kmer_text), each streaming the inputs again -> facts (dna_facts).
# The artifacts depend on params.tokenizers: ARTIFACTS["dna"] is a function of the card, and
# the scheme wildcards match the names in the scheme registry (genoprep.dna.tokenize.SCHEMES).
# Definitions: docs/dna.md and genoprep/dna/.
#
# Only the outputs whose names other modalities' rules also write (obs.tsv, qc.json and
# facts.json) are constrained to the DNA ids (out(name, "dna")); the token and k-mer files,
# whose names no other rule writes, use out(name). Snakemake rescans an output pattern,
# constraint included, for every job it makes: an expression of the DNA ids grows with the
# number of cards (~25 kB for 10,000 ids, ~0.26 ms per pattern and job), so a hub of mostly
# DNA cards gets "any id but the other cards'" instead (genoprep.cards.dataset_constraint),
# see bench/RESULTS.md "cards".

import genoprep.dna.options as dna_options  # noqa: E402
from genoprep.dna.tokenize import scheme_pattern  # noqa: E402

ARTIFACTS["dna"] = dna_options.artifact_names


rule dna_ingest:
    input:
        data=primary_inputs,
    output:
        obs=out("obs.tsv", "dna"),
        qc=out("qc.json", "dna"),
    log:
        out("logs/dna_ingest.log"),
    benchmark:
        out("benchmarks/dna_ingest.tsv")
    conda:
        "../envs/dna.yaml"
    resources:
        mem_mb=2048,
        runtime=60,
    params:
        options=options_of(dna_options.IngestOptions),
    script:
        "../scripts/dna_ingest.py"


rule dna_tokens_fixed:
    input:
        data=primary_inputs,
        qc=rules.dna_ingest.output.qc,
    output:
        tokens=out("tokens_{scheme}.npy"),
    log:
        out("logs/dna_tokens_{scheme}.log"),
    benchmark:
        out("benchmarks/dna_tokens_{scheme}.tsv")
    wildcard_constraints:
        scheme=scheme_pattern("fixed"),
    conda:
        "../envs/dna.yaml"
    resources:
        mem_mb=2048,
        runtime=60,
    params:
        options=options_of(dna_options.SchemeOptions, wildcard="scheme"),
    script:
        "../scripts/dna_tokens_fixed.py"


rule dna_tokens_variable:
    input:
        data=primary_inputs,
        qc=rules.dna_ingest.output.qc,
    output:
        tokens=out("tokens_{scheme}.parquet"),
    log:
        out("logs/dna_tokens_{scheme}.log"),
    benchmark:
        out("benchmarks/dna_tokens_{scheme}.tsv")
    wildcard_constraints:
        scheme=scheme_pattern("variable"),
    conda:
        "../envs/dna.yaml"
    resources:
        mem_mb=2048,
        runtime=60,
    params:
        options=options_of(dna_options.SchemeOptions, wildcard="scheme"),
    script:
        "../scripts/dna_tokens_variable.py"


rule dna_kmer_counts:
    input:
        data=primary_inputs,
        qc=rules.dna_ingest.output.qc,
    output:
        counts=out("kmers_k{k}.npz"),
        kmers=out("kmers_k{k}.tsv"),
    log:
        out("logs/dna_kmer_counts_k{k}.log"),
    benchmark:
        out("benchmarks/dna_kmer_counts_k{k}.tsv")
    wildcard_constraints:
        k=r"\d+",
    conda:
        "../envs/dna.yaml"
    resources:
        mem_mb=2048,
        runtime=60,
    params:
        options=options_of(dna_options.SchemeOptions, "kmer_counts"),
    script:
        "../scripts/dna_kmer_counts.py"


rule dna_kmer_text:
    input:
        data=primary_inputs,
        qc=rules.dna_ingest.output.qc,
    output:
        text=out("tokens_kmer_tokenize.tsv"),
    log:
        out("logs/dna_kmer_text.log"),
    benchmark:
        out("benchmarks/dna_kmer_text.tsv")
    conda:
        "../envs/dna.yaml"
    resources:
        mem_mb=2048,
        runtime=60,
    params:
        options=options_of(dna_options.SchemeOptions, "kmer_tokenize"),
    script:
        "../scripts/dna_kmer_text.py"


rule dna_facts:
    input:
        qc=rules.dna_ingest.output.qc,
        artifacts=artifacts_of,
    output:
        facts=work("facts.json", "dna"),
    log:
        out("logs/dna_facts.log"),
    conda:
        "../envs/dna.yaml"
    resources:
        mem_mb=2048,
        runtime=30,
    params:
        options=options_of(dna_options.FactsOptions),
    script:
        "../scripts/dna_facts.py"
