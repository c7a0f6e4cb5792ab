# Remote inputs: a card input with `url` (and its mandatory `sha256`) is fetched into
# RESULTS/.work/<dataset_id>/download/<path> before any step reads it (primary_inputs
# points there). genoprep.download: retries with back-off, Range resume, checksum checked
# before the file gets its name.


rule download_input:
    output:
        data=os.path.join(RESULTS, ".work", "{dataset}", "download", "{name}"),
    log:
        out("logs/download_{name}.log"),
    wildcard_constraints:
        name=".+",
    conda:
        "../envs/fair.yaml"
    resources:
        mem_mb=512,
        runtime=120,
    params:
        source=download_source,
    script:
        "../scripts/download_input.py"
