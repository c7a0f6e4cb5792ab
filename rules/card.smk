# The completed dataset card: the input card plus computed facts and the SHA-256 of the
# input(s) and of every artifact. It is the last file of every dataset.


rule write_card:
    input:
        unpack(write_card_inputs),
        facts=work("facts.json"),
    output:
        card=out("card.yaml"),
    log:
        out("logs/write_card.log"),
    conda:
        "../envs/base.yaml"
    params:
        card=card_data,
    script:
        "../scripts/write_card.py"
