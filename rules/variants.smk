# variants: VCF / VCF.gz / BCF -> int8 dosage matrix (samples x variants, -1 missing) with
# plink2/bcftools-exact QC. Scatter-gather: variants_plan lists the chunks of the input
# (records or indexed regions), one variants_chunk job reads each, variants_gather filters
# and writes the artifacts (identical bytes whatever the chunking).

# the options classes by name: genoprep.variants.steps imports numba and pandas (~1.5 s), paid
# on the first variants job, not by every parse of the workflow (see options_of)
STEPS = "genoprep.variants.steps"

ARTIFACTS["variants"] = ["dosage.npy", "variants.parquet", "samples.tsv", "qc.json"]


checkpoint variants_plan:
    input:
        data=primary_inputs,
    output:
        plan=work("chunks.json", "variants"),
    log:
        out("logs/variants_plan.log"),
    benchmark:
        out("benchmarks/variants_plan.tsv")
    conda:
        "../envs/variants.yaml"
    resources:
        mem_mb=1024,
        runtime=30,
    params:
        options=options_of(f"{STEPS}:PlanOptions"),
    script:
        "../scripts/variants_plan.py"


rule variants_chunk:
    input:
        data=primary_inputs,
        plan=work("chunks.json"),
    output:
        npz=temp(work("chunks/{chunk}.npz", "variants")),
    log:
        out("logs/variants_chunk_{chunk}.log"),
    benchmark:
        out("benchmarks/variants_chunk_{chunk}.tsv")
    wildcard_constraints:
        chunk=r"\d+",
    conda:
        "../envs/variants.yaml"
    resources:
        mem_mb=variants_chunk_mem_mb,
        runtime=60,
    params:
        options=options_of(f"{STEPS}:ChunkOptions"),
    script:
        "../scripts/variants_chunk.py"


rule variants_gather:
    input:
        chunks=variants_chunk_files,
        plan=work("chunks.json"),
        metadata=metadata_input,
    output:
        dosage=out("dosage.npy", "variants"),
        variants=out("variants.parquet", "variants"),
        samples=out("samples.tsv", "variants"),
        qc=out("qc.json", "variants"),
        facts=work("facts.json", "variants"),
    log:
        out("logs/variants_gather.log"),
    benchmark:
        out("benchmarks/variants_gather.tsv")
    conda:
        "../envs/variants.yaml"
    resources:
        mem_mb=input_mem_mb,
        runtime=60,
    params:
        options=options_of(f"{STEPS}:GatherOptions"),
    script:
        "../scripts/variants_gather.py"
