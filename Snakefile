# genoprep: raw genomics data to benchmark-ready machine-learning artifacts.
#
#   snakemake --cores N                                       # the cards listed in config/config.yaml
#   snakemake --cores N --config datasets=DIR results=OUT     # every *.yaml card in DIR, into OUT/
#
# Each dataset card (YAML) names its modality; the rules of that modality turn its input
# into artifacts under OUT/<dataset_id>/, ending with OUT/<dataset_id>/card.yaml.
import os

from snakemake.utils import min_version

min_version("9.0")


# the workflow's own config (found from any working directory; --config overrides it)
configfile: os.path.join(workflow.basedir, "config", "config.yaml")


include: "rules/common.smk"
include: "rules/download.smk"
include: "rules/demo.smk"
include: "rules/scrna.smk"
include: "rules/scrna_shard.smk"
include: "rules/scrna_tokens.smk"
include: "rules/bulk.smk"
include: "rules/dna.smk"
include: "rules/variants.smk"
include: "rules/tasks.smk"
include: "rules/card.smk"
include: "rules/report.smk"
include: "rules/fair.smk"


cache_function_signatures()
check_before_run()


onstart:
    lock_results()


onsuccess:
    RESULTS_LOCK.release()


onerror:
    RESULTS_LOCK.release()


rule all:
    default_target: True
    input:
        completed_cards(),
        report_files(),
        RUN_SUMMARIES,
        FAIR_CHECKSUMS,
