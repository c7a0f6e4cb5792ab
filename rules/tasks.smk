# Task layer (docs/tasks.md): splits, leakage checks and benchmark task bundles under
# OUT/<dataset_id>/tasks/<task>/, each with task.yaml and baseline.json.
#
# variant_effect is a modality of its own: a labelled VCF and its reference FASTA ->
# splits.tsv + qc.json + tasks/variant_effect/ (variant_effect_bundle), then the baseline
# (variant_effect_baseline) and the card's facts. The other bundles are built by the
# library (genoprep.tasks.builders) from the finished artifacts of their modality.

from genoprep.splits import SplitOptions  # noqa: E402
from genoprep.tasks.params import LeakageOptions, TaskOptions  # noqa: E402
from genoprep.tasks.steps import (  # noqa: E402
    BUNDLE_FILES,
    role_path,
    sequence_task_inputs,
    variant_effect_artifacts,
    with_augment_facts,
    with_task_artifacts,
)
from genoprep.tasks.variant_effect import VariantEffectOptions  # noqa: E402

ARTIFACTS["variant_effect"] = variant_effect_artifacts
# with params.split.enabled: splits.tsv, the bundles of params.tasks.names and the
# augmented scRNA-seq files join the dataset's artifacts (genoprep.tasks.steps.task_artifacts)
ARTIFACTS["scrna"] = with_task_artifacts(ARTIFACTS["scrna"])
ARTIFACTS["bulk"] = with_task_artifacts(ARTIFACTS["bulk"])
ARTIFACTS["dna"] = with_task_artifacts(ARTIFACTS["dna"])
EXTRA_FACTS["scrna"] = with_augment_facts(EXTRA_FACTS.get("scrna"), RESULTS)
# the datasets whose split is a column of obs.tsv, assigned inside their chain
SPLIT_COLUMN_IDS = dataset_constraint(
    (i for i, card in CARDS.items() if card.modality in ("scrna", "bulk")),
    (i for i, card in CARDS.items() if card.modality not in ("scrna", "bulk")),
)


rule variant_effect_bundle:
    input:
        vcf=lambda wildcards: role_path(card_of(wildcards), "variants"),
        reference=lambda wildcards: role_path(card_of(wildcards), "reference"),
    output:
        splits=out("splits.tsv", "variant_effect"),
        qc=out("qc.json", "variant_effect"),
        variants=out("tasks/variant_effect/variants.tsv", "variant_effect"),
        train=out("tasks/variant_effect/train.npz", "variant_effect"),
        val=out("tasks/variant_effect/val.npz", "variant_effect"),
        test=out("tasks/variant_effect/test.npz", "variant_effect"),
        task=out("tasks/variant_effect/task.yaml", "variant_effect"),
        facts=work("facts.json", "variant_effect"),
    log:
        out("logs/variant_effect_bundle.log"),
    benchmark:
        out("benchmarks/variant_effect_bundle.tsv")
    conda:
        "../envs/tasks.yaml"
    resources:
        mem_mb=input_mem_mb,
        runtime=60,
    params:
        variant=options_of(VariantEffectOptions),
        split=options_of(SplitOptions),
        leakage=options_of(LeakageOptions),
    script:
        "../scripts/task_variant_effect.py"


rule variant_effect_baseline:
    input:
        task=out("tasks/variant_effect/task.yaml"),
    output:
        baseline=out("tasks/variant_effect/baseline.json", "variant_effect"),
    log:
        out("logs/variant_effect_baseline.log"),
    benchmark:
        out("benchmarks/variant_effect_baseline.tsv")
    conda:
        "../envs/tasks.yaml"
    resources:
        mem_mb=2048,
        runtime=60,
    params:
        variant=options_of(VariantEffectOptions),
        tasks=options_of(TaskOptions),
    script:
        "../scripts/task_variant_effect_baseline.py"


# Bundles from the finished artifacts of scrna / bulk / dna datasets. They need splits.tsv
# (written by the modality's own split step when params.split.enabled) and are listed in
# the dataset's artifacts by task_artifacts(card) (params.tasks.names).


rule task_cell_type_annotation:
    input:
        x=out("X.npy"),
        obs=out("obs.tsv"),
        splits=out("splits.tsv"),
    output:
        files=expand(
            out("tasks/cell_type_annotation/{name}"),
            name=BUNDLE_FILES["cell_type_annotation"],
            allow_missing=True,
        ),
        task=out("tasks/cell_type_annotation/task.yaml"),
    log:
        out("logs/task_cell_type_annotation.log"),
    benchmark:
        out("benchmarks/task_cell_type_annotation.tsv")
    conda:
        "../envs/tasks.yaml"
    resources:
        mem_mb=input_mem_mb,
        runtime=60,
    params:
        tasks=options_of(TaskOptions),
        leakage=options_of(LeakageOptions),
    script:
        "../scripts/task_cell_type_annotation.py"


rule task_gene_expression_prediction:
    input:
        h5ad=out("processed.h5ad"),
        splits=out("splits.tsv"),
    output:
        files=expand(
            out("tasks/gene_expression_prediction/{name}"),
            name=BUNDLE_FILES["gene_expression_prediction"],
            allow_missing=True,
        ),
        task=out("tasks/gene_expression_prediction/task.yaml"),
    log:
        out("logs/task_gene_expression_prediction.log"),
    benchmark:
        out("benchmarks/task_gene_expression_prediction.tsv")
    conda:
        "../envs/tasks.yaml"
    resources:
        mem_mb=input_mem_mb,
        runtime=60,
    params:
        tasks=options_of(TaskOptions),
        leakage=options_of(LeakageOptions),
    script:
        "../scripts/task_gene_expression_prediction.py"


rule task_sequence_classification:
    input:
        obs=out("obs.tsv"),
        splits=out("splits.tsv"),
        kmers=lambda wildcards: os.path.join(
            RESULTS,
            wildcards.dataset,
            sequence_task_inputs(card_of(wildcards))["kmers"],
        ),
        tokens=lambda wildcards: [
            os.path.join(RESULTS, wildcards.dataset, name)
            for name in sequence_task_inputs(card_of(wildcards))["tokens"].values()
        ],
    output:
        files=expand(
            out("tasks/sequence_classification/{name}"),
            name=BUNDLE_FILES["sequence_classification"],
            allow_missing=True,
        ),
        task=out("tasks/sequence_classification/task.yaml"),
    log:
        out("logs/task_sequence_classification.log"),
    benchmark:
        out("benchmarks/task_sequence_classification.tsv")
    conda:
        "../envs/tasks.yaml"
    resources:
        mem_mb=input_mem_mb,
        runtime=60,
    params:
        tasks=options_of(TaskOptions),
        leakage=options_of(LeakageOptions),
        schemes=lambda wildcards: list(
            sequence_task_inputs(card_of(wildcards))["tokens"]
        ),
    script:
        "../scripts/task_sequence_classification.py"


rule task_baseline:
    input:
        task=out("tasks/{task}/task.yaml"),
    output:
        baseline=out("tasks/{task}/baseline.json"),
    log:
        out("logs/task_baseline_{task}.log"),
    benchmark:
        out("benchmarks/task_baseline_{task}.tsv")
    wildcard_constraints:
        task="cell_type_annotation|gene_expression_prediction|sequence_classification",
    conda:
        "../envs/tasks.yaml"
    resources:
        mem_mb=2048,
        runtime=60,
    params:
        tasks=options_of(TaskOptions),
    script:
        "../scripts/task_baseline.py"


rule split_table:
    input:
        obs=out("obs.tsv"),
    output:
        splits=os.path.join(RESULTS, f"{{dataset,{SPLIT_COLUMN_IDS}}}", "splits.tsv"),
    log:
        out("logs/split_table.log"),
    conda:
        "../envs/tasks.yaml"
    resources:
        mem_mb=1024,
        runtime=10,
    script:
        "../scripts/split_table.py"


rule dna_splits:
    input:
        obs=out("obs.tsv"),
        data=primary_inputs,
        rows=lambda wildcards: os.path.join(
            RESULTS,
            wildcards.dataset,
            sequence_task_inputs(card_of(wildcards))["leakage_keys"],
        ),
    output:
        splits=out("splits.tsv", "dna"),
        qc=work("splits_qc.json", "dna"),
    log:
        out("logs/dna_splits.log"),
    conda:
        "../envs/tasks.yaml"
    resources:
        mem_mb=input_mem_mb,
        runtime=30,
    params:
        split=options_of(SplitOptions),
        leakage=options_of(LeakageOptions),
        reading=options_of(dna_options.ReadOptions),
    script:
        "../scripts/split_obs.py"
