# Task layer (docs/tasks.md): splits, leakage checks and benchmark task bundles under
# OUT/<dataset_id>/tasks/<task>/, each with task.yaml and baseline.json.
#
# variant_effect is a modality of its own: a labelled VCF and its reference FASTA ->
# splits.tsv + qc.json + tasks/variant_effect/ (variant_effect_bundle), then the baseline
# (variant_effect_baseline) and the card's facts. The other bundles are built by the
# library (genoprep.tasks.builders) from the finished artifacts of their modality.

from genoprep.splits import SplitOptions  # noqa: E402
from genoprep.tasks.params import LeakageOptions, TaskOptions  # noqa: E402
from genoprep.tasks.steps import role_path, variant_effect_artifacts  # noqa: E402
from genoprep.tasks.variant_effect import VariantEffectOptions  # noqa: E402

ARTIFACTS["variant_effect"] = variant_effect_artifacts


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
