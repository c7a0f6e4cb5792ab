# bulk: not implemented yet (cards with modality: bulk are refused until
# config/schemas/modality/bulk.schema.yaml exists).
