# variants: not implemented yet (cards with modality: variants are refused until
# config/schemas/modality/variants.schema.yaml exists).
