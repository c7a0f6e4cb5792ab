# scRNA-seq sharded across jobs (params.shards >= 2; genoprep/scrna/shard.py): a 10x/CSV/TSV/loom
# input is first converted into a CSR h5ad (scrna_shard_convert); checkpoint scrna_shard_plan
# cuts the cells into shards; per shard, pass 1 (metrics), pass 2 (metrics over the kept genes),
# pass 3 (normalised rows, per-gene sums and per-batch HVG statistics) and pass 4 (scaled HVG
# block) run as their own jobs (locally or through profiles/slurm); scrna_shard_decide and
# scrna_shard_hvg reduce the shards' statistics (for seurat_v3 flavors, scrna_shard_clip_values
# and one scrna_shard_clip job per shard come between them: the DAG has them only for those
# flavors); scrna_shard_gather writes the artifacts scrna_process writes.
# The dataset wildcard of these outputs matches only sharded cards (route scrna_sharded in
# rules/common.smk), that of scrna_process only the others.


rule scrna_shard_convert:
    input:
        data=primary_inputs,
        metadata=metadata_input,
    output:
        converted=temp(work("input.h5ad", "scrna_sharded")),
    log:
        out("logs/scrna_shard_convert.log"),
    benchmark:
        out("benchmarks/scrna_shard_convert.tsv")
    conda:
        "../envs/scrna.yaml"
    resources:
        mem_mb=scrna_shard_convert_mem_mb,
        runtime=scrna_shard_convert_runtime,
        disk_mb=scrna_shard_convert_disk_mb,
    params:
        chain=scrna_shard_params,
    script:
        "../scripts/scrna_shard_convert.py"


checkpoint scrna_shard_plan:
    input:
        data=primary_inputs,
        converted=scrna_shard_converted,
    output:
        plan=work("shards/plan.json", "scrna_sharded"),
    log:
        out("logs/scrna_shard_plan.log"),
    conda:
        "../envs/scrna.yaml"
    resources:
        mem_mb=1024,
        runtime=30,
    params:
        chain=scrna_shard_params,
    script:
        "../scripts/scrna_shard_plan.py"


rule scrna_shard_metrics:
    input:
        data=primary_inputs,
        converted=scrna_shard_converted,
        metadata=metadata_input,
        mito_genes=MITO_GENE_LISTS,
        plan=work("shards/plan.json"),
    output:
        npz=temp(work("shards/metrics_{shard}.npz", "scrna_sharded")),
    log:
        out("logs/scrna_shard_metrics_{shard}.log"),
    benchmark:
        out("benchmarks/scrna_shard_metrics_{shard}.tsv")
    wildcard_constraints:
        shard=r"\d+",
    conda:
        "../envs/scrna.yaml"
    resources:
        mem_mb=scrna_shard_mem_mb,
        runtime=scrna_shard_runtime,
    params:
        chain=scrna_shard_params,
    script:
        "../scripts/scrna_shard_metrics.py"


rule scrna_shard_kept:
    input:
        data=primary_inputs,
        converted=scrna_shard_converted,
        metadata=metadata_input,
        mito_genes=MITO_GENE_LISTS,
        plan=work("shards/plan.json"),
        metrics=scrna_shard_files("metrics"),
    output:
        npz=temp(work("shards/kept_{shard}.npz", "scrna_sharded")),
    log:
        out("logs/scrna_shard_kept_{shard}.log"),
    benchmark:
        out("benchmarks/scrna_shard_kept_{shard}.tsv")
    wildcard_constraints:
        shard=r"\d+",
    conda:
        "../envs/scrna.yaml"
    resources:
        mem_mb=scrna_shard_mem_mb,
        runtime=scrna_shard_runtime,
    params:
        chain=scrna_shard_params,
    script:
        "../scripts/scrna_shard_kept.py"


rule scrna_shard_decide:
    input:
        data=primary_inputs,
        converted=scrna_shard_converted,
        metadata=metadata_input,
        mito_genes=MITO_GENE_LISTS,
        metrics=scrna_shard_files("metrics"),
        kept=scrna_shard_files("kept"),
    output:
        qc=out("qc.json", "scrna_sharded"),
        cells=out("qc_cells.tsv", "scrna_sharded"),
        decision=temp(work("shards/decision.npz", "scrna_sharded")),
    log:
        out("logs/scrna_shard_decide.log"),
    benchmark:
        out("benchmarks/scrna_shard_decide.tsv")
    conda:
        "../envs/scrna.yaml"
    resources:
        mem_mb=scrna_shard_mem_mb,
        runtime=scrna_shard_runtime,
    params:
        chain=scrna_shard_params,
        logs=lambda wildcards: os.path.join(RESULTS, wildcards.dataset, "logs"),
    script:
        "../scripts/scrna_shard_decide.py"


rule scrna_shard_sums:
    input:
        data=primary_inputs,
        converted=scrna_shard_converted,
        plan=work("shards/plan.json"),
        decision=work("shards/decision.npz"),
    output:
        sums=temp(work("shards/sums_{shard}.npz", "scrna_sharded")),
        rows=temp(work("shards/rows_{shard}.npz", "scrna_sharded")),
    log:
        out("logs/scrna_shard_sums_{shard}.log"),
    benchmark:
        out("benchmarks/scrna_shard_sums_{shard}.tsv")
    wildcard_constraints:
        shard=r"\d+",
    conda:
        "../envs/scrna.yaml"
    resources:
        mem_mb=scrna_shard_mem_mb,
        disk_mb=scrna_shard_disk_mb("rows"),
        runtime=scrna_shard_runtime,
    params:
        chain=scrna_shard_params,
    script:
        "../scripts/scrna_shard_sums.py"


rule scrna_shard_clip_values:
    input:
        plan=work("shards/plan.json"),
        decision=work("shards/decision.npz"),
        sums=scrna_shard_files("sums"),
    output:
        clip=temp(work("shards/clip.npz", "scrna_sharded")),
    log:
        out("logs/scrna_shard_clip_values.log"),
    benchmark:
        out("benchmarks/scrna_shard_clip_values.tsv")
    conda:
        "../envs/scrna.yaml"
    resources:
        mem_mb=scrna_shard_mem_mb,
        runtime=scrna_shard_runtime,
    params:
        chain=scrna_shard_params,
    script:
        "../scripts/scrna_shard_clip_values.py"


rule scrna_shard_clip:
    input:
        plan=work("shards/plan.json"),
        decision=work("shards/decision.npz"),
        rows=work("shards/rows_{shard}.npz"),
        clip=work("shards/clip.npz"),
    output:
        clipped=temp(work("shards/clipped_{shard}.npz", "scrna_sharded")),
    log:
        out("logs/scrna_shard_clip_{shard}.log"),
    benchmark:
        out("benchmarks/scrna_shard_clip_{shard}.tsv")
    wildcard_constraints:
        shard=r"\d+",
    conda:
        "../envs/scrna.yaml"
    resources:
        mem_mb=scrna_shard_mem_mb,
        runtime=scrna_shard_runtime,
    params:
        chain=scrna_shard_params,
    script:
        "../scripts/scrna_shard_clip.py"


rule scrna_shard_hvg:
    input:
        data=primary_inputs,
        converted=scrna_shard_converted,
        metadata=metadata_input,
        mito_genes=MITO_GENE_LISTS,
        plan=work("shards/plan.json"),
        metrics=scrna_shard_files("metrics"),
        kept=scrna_shard_files("kept"),
        sums=scrna_shard_files("sums"),
        decision=work("shards/decision.npz"),
        clip=scrna_shard_clip_values,
        clipped=scrna_shard_clipped,
    output:
        hvg=temp(work("shards/hvg.npz", "scrna_sharded")),
    log:
        out("logs/scrna_shard_hvg.log"),
    benchmark:
        out("benchmarks/scrna_shard_hvg.tsv")
    conda:
        "../envs/scrna.yaml"
    resources:
        mem_mb=scrna_shard_mem_mb,
        runtime=scrna_shard_runtime,
    params:
        chain=scrna_shard_params,
    script:
        "../scripts/scrna_shard_hvg.py"


rule scrna_shard_scale:
    input:
        rows=work("shards/rows_{shard}.npz"),
        hvg=work("shards/hvg.npz"),
    output:
        block=temp(work("shards/block_{shard}.npy", "scrna_sharded")),
    log:
        out("logs/scrna_shard_scale_{shard}.log"),
    benchmark:
        out("benchmarks/scrna_shard_scale_{shard}.tsv")
    wildcard_constraints:
        shard=r"\d+",
    conda:
        "../envs/scrna.yaml"
    resources:
        mem_mb=scrna_shard_mem_mb,
        disk_mb=scrna_shard_disk_mb("block"),
        runtime=scrna_shard_runtime,
    params:
        chain=scrna_shard_params,
    script:
        "../scripts/scrna_shard_scale.py"


rule scrna_shard_gather:
    input:
        data=primary_inputs,
        converted=scrna_shard_converted,
        metadata=metadata_input,
        mito_genes=MITO_GENE_LISTS,
        plan=work("shards/plan.json"),
        metrics=scrna_shard_files("metrics"),
        kept=scrna_shard_files("kept"),
        sums=scrna_shard_files("sums"),
        clip=scrna_shard_clip_values,
        clipped=scrna_shard_clipped,
        rows=scrna_shard_files("rows"),
        blocks=scrna_shard_files("block", "npy"),
        hvg=work("shards/hvg.npz"),
        decision=work("shards/decision.npz"),
    output:
        h5ad=out("processed.h5ad", "scrna_sharded"),
        x=out("X.npy", "scrna_sharded"),
        features=out("features.tsv", "scrna_sharded"),
        obs=out("obs.tsv", "scrna_sharded"),
        facts=work("facts.json", "scrna_sharded"),
    log:
        main=out("logs/scrna_shard_gather.log"),
        steps=out("logs/scrna_shard_gather_steps.tsv"),
    benchmark:
        out("benchmarks/scrna_shard_gather.tsv")
    conda:
        "../envs/scrna.yaml"
    resources:
        mem_mb=scrna_shard_mem_mb,
        disk_mb=scrna_shard_disk_mb("outputs"),
        runtime=scrna_shard_runtime,
    params:
        chain=scrna_shard_params,
    script:
        "../scripts/scrna_shard_gather.py"
