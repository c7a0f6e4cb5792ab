"""Each scRNA-seq step's slice of the dataset card (see :mod:`genoprep.options`).

The rule ``scrna_process`` passes each of these as its own ``params`` entry, so that a
change of a card's ``description`` reruns nothing, and a change of ``n_top_genes`` reruns
the one job of the dataset (whose QC outputs are then byte-identical).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Self

from genoprep.errors import InputError
from genoprep.options import StepOptions, freeze

#: HVG flavors that scanpy runs on raw counts (``layers['counts']``)
COUNT_FLAVORS = ("seurat_v3", "seurat_v3_paper")


@dataclasses.dataclass(frozen=True)
class IngestOptions(StepOptions):
    """Reading the input (``input``), the metadata table (``metadata``) and the label columns (``columns``).

    ``hvg_batch_key`` is here too: it names a per-cell column, checked against the input's
    header before the matrix is read.
    """

    format: str
    orientation: str | None
    layer: str | None
    value_type: str
    sha256: str | None
    metadata_format: str | None
    metadata_header: bool | None
    metadata_id_column: str | int | None
    metadata_sha256: str | None
    metadata_unmatched: str | None
    columns: Mapping[str, str | int]
    hvg_batch_key: str | None

    @classmethod
    def from_card(cls, card: Mapping[str, Any]) -> Self:
        spec = card["input"]
        meta = card.get("metadata") or {}
        return cls(
            format=spec["format"],
            orientation=spec.get("orientation"),
            layer=spec.get("layer"),
            value_type=spec["value_type"],
            sha256=spec.get("sha256"),
            metadata_format=meta.get("format"),
            metadata_header=meta.get("header"),
            metadata_id_column=meta.get("id_column"),
            metadata_sha256=meta.get("sha256"),
            metadata_unmatched=meta.get("unmatched"),
            columns=freeze(card.get("columns") or {}),
            hvg_batch_key=card["params"]["hvg_batch_key"],
        )


@dataclasses.dataclass(frozen=True)
class QcOptions(StepOptions):
    """The cell and gene filters, mitochondrial genes and the guard against losing most cells."""

    min_genes: int
    min_cells: int
    max_genes: int | None
    max_pct_mito: float | None
    mito_prefixes: tuple[str, ...]
    mito_genes: tuple[str, ...]
    min_fraction_kept: float


@dataclasses.dataclass(frozen=True)
class QcFigureOptions(StepOptions):
    """The thresholds drawn on the QC figure."""

    min_genes: int
    max_genes: int | None
    max_pct_mito: float | None


@dataclasses.dataclass(frozen=True)
class NormalizeOptions(StepOptions):
    """normalize_total + log1p, skipped when the input is log-normalised already."""

    target_sum: float
    value_type: str

    @classmethod
    def from_card(cls, card: Mapping[str, Any]) -> Self:
        return cls(target_sum=card["params"]["target_sum"], value_type=card["input"]["value_type"])


@dataclasses.dataclass(frozen=True)
class HvgOptions(StepOptions):
    """Highly variable genes (scanpy's flavors)."""

    hvg_flavor: str
    n_top_genes: int
    hvg_batch_key: str | None


@dataclasses.dataclass(frozen=True)
class ScaleOptions(StepOptions):
    """Scaling of the HVG block (zero-centred, clipped at ``scale_max_value``)."""

    scale_max_value: float | None


@dataclasses.dataclass(frozen=True)
class EmbedOptions(StepOptions):
    """PCA and UMAP of the scaled HVG matrix (``obsm`` of ``processed.h5ad``)."""

    n_pcs: int
    umap: bool
    umap_n_neighbors: int
    umap_max_cells: int | None
    embedding_seed: int


@dataclasses.dataclass(frozen=True)
class MemoryOptions(StepOptions):
    """Which path the chain takes: in memory, or streaming chunks of cells when the input is larger than
    the budget (:mod:`genoprep.scrna.ooc`). ``None`` means: from the machine."""

    memory_budget_mb: int | None
    chunk_cells: int | None


def check_card(card: Mapping[str, Any], source: str) -> None:
    """Checks of an scRNA-seq card the JSON schema cannot make, one line each (for the card loader).

    ``seurat_v3``/``seurat_v3_paper`` select genes on the raw counts, which a card with
    ``input.value_type: log_normalized`` does not have: refused here, at load, instead of in
    scanpy after the matrix is read.
    """
    flavor = card["params"]["hvg_flavor"]
    if flavor in COUNT_FLAVORS and card["input"]["value_type"] != "counts":
        raise InputError(
            source,
            f"hvg_flavor {flavor} selects genes on raw counts, but input.value_type is "
            f"{card['input']['value_type']}: use hvg_flavor seurat or cell_ranger, or give the raw counts",
            record="params.hvg_flavor",
        )
