# genoprep: raw genomics data to benchmark-ready machine-learning artifacts.
#
#   snakemake --cores N                                       # the cards listed in config/config.yaml
#   snakemake --cores N --config datasets=DIR results=OUT     # every *.yaml card in DIR, into OUT/
#
# Each dataset card (YAML) names its modality; the rules of that modality turn its input
# into artifacts under OUT/<dataset_id>/, ending with OUT/<dataset_id>/card.yaml.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "rules/common.smk"
include: "rules/demo.smk"
include: "rules/scrna.smk"
include: "rules/bulk.smk"
include: "rules/dna.smk"
include: "rules/variants.smk"
include: "rules/tasks.smk"
include: "rules/card.smk"


rule all:
    default_target: True
    input:
        completed_cards(),
        report_files(),
