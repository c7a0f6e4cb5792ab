# FAIR metadata of a finished dataset, written after its completed card.yaml and from it:
# croissant.json (MLCommons Croissant), README.md (a Hugging Face dataset card) and
# fair.sha256, the sha256sum of card.yaml, croissant.json and README.md. A card cannot
# hold its own checksum, and these files are made from it, so they are pinned by
# fair.sha256 rather than by the card; `genoprep verify OUT` checks both lists
# (docs/fair.md).

FAIR_CHECKSUMS = [
    os.path.join(RESULTS, dataset_id, "fair.sha256") for dataset_id in sorted(CARDS)
]


rule fair_croissant:
    input:
        card=rules.write_card.output.card,
    output:
        croissant=out("croissant.json"),
    log:
        out("logs/fair_croissant.log"),
    conda:
        "../envs/fair.yaml"
    resources:
        mem_mb=1024,
        runtime=10,
    script:
        "../scripts/fair_croissant.py"


rule fair_hf_card:
    input:
        card=rules.write_card.output.card,
    output:
        readme=out("README.md"),
    log:
        out("logs/fair_hf_card.log"),
    conda:
        "../envs/fair.yaml"
    resources:
        mem_mb=1024,
        runtime=10,
    script:
        "../scripts/fair_hf_card.py"


rule fair_checksums:
    input:
        card=rules.write_card.output.card,
        croissant=rules.fair_croissant.output.croissant,
        readme=rules.fair_hf_card.output.readme,
    output:
        checksums=out("fair.sha256"),
    log:
        out("logs/fair_checksums.log"),
    conda:
        "../envs/fair.yaml"
    resources:
        mem_mb=512,
        runtime=5,
    script:
        "../scripts/fair_checksums.py"
