# dna: not implemented yet (cards with modality: dna are refused until
# config/schemas/modality/dna.schema.yaml exists).
