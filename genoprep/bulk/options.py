"""Each bulk RNA-seq step's slice of the card (see :mod:`genoprep.options`).

``bulk_ingest`` reads the input and metadata specs and the label mapping; ``bulk_normalize``
the normalisation, the expression filter and its guard; ``bulk_export`` the QC rules and
the scaling. Editing a card's ``description`` (or any field a step does not read) reruns
nothing but ``write_card``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Self

from genoprep.options import StepOptions, freeze

#: the metadata fields ingest reads (the path is the rule's input)
_METADATA_FIELDS = ("format", "header", "id_column", "unmatched", "sha256")


@dataclasses.dataclass(frozen=True)
class IngestOptions(StepOptions):
    """Rule ``bulk_ingest``: how to read the table, the metadata table and the labels.

    ``id_column`` is the card's ``gene_id_column`` (genes_x_samples) or ``sample_id_column``
    (samples_x_genes); the schema fills in the one of the card's orientation (default 0).
    ``arrays`` names the arrays of an ``.npz``; the id sidecar files of NumPy input are the
    rule's inputs, not options.
    """

    dataset_id: str
    format: str
    orientation: str
    id_column: str | int
    annotation_columns: tuple[str, ...]
    gene_symbol_column: str | None
    value_type: str
    duplicate_genes: str
    arrays: Mapping[str, str]
    sha256: str | None
    columns: Mapping[str, str | int]
    metadata: Mapping[str, Any] | None

    @classmethod
    def from_card(cls, card: Mapping[str, Any]) -> Self:
        spec = card["input"]
        id_key = "gene_id_column" if spec["orientation"] == "genes_x_samples" else "sample_id_column"
        metadata = card.get("metadata")
        return cls(
            dataset_id=card["dataset_id"],
            format=spec["format"],
            orientation=spec["orientation"],
            id_column=spec[id_key],
            annotation_columns=freeze(spec["annotation_columns"]),
            gene_symbol_column=spec.get("gene_symbol_column"),
            value_type=spec["value_type"],
            duplicate_genes=spec["duplicate_genes"],
            arrays=freeze(spec["arrays"]),
            sha256=spec.get("sha256"),
            columns=freeze(card["columns"]),
            metadata=None if metadata is None else freeze({k: metadata.get(k) for k in _METADATA_FIELDS}),
        )


@dataclasses.dataclass(frozen=True)
class NormalizeOptions(StepOptions):
    """Rule ``bulk_normalize``: CPM/log1p, the expression filter and the filter guard."""

    cpm: bool
    min_mean_log: float | None
    min_fraction_expressed: float
    expressed_threshold: float
    min_fraction_kept: float


@dataclasses.dataclass(frozen=True)
class ExportOptions(StepOptions):
    """Rule ``bulk_export``: the per-sample QC rules and the scaling of the ML matrix."""

    zscore: bool
    library_size_mads: float | None
    correlation_mads: float | None
    n_pcs: int
