"""Options of the params every modality shares: ``split`` (in :mod:`genoprep.splits`),
``leakage``, ``tasks`` and ``augment``.

Their schema is ``genoprep/schemas/common_params.schema.yaml``; the card loader merges its
properties into every modality's ``params`` with their defaults, so a loaded card carries
each of these sections complete.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from genoprep.errors import InputError
from genoprep.options import StepOptions, freeze

#: the task bundles each modality builds (docs/tasks.md); ``variants`` builds none
MODALITY_TASKS: dict[str, tuple[str, ...]] = {
    "scrna": ("cell_type_annotation", "gene_expression_prediction"),
    "bulk": ("cell_type_annotation", "gene_expression_prediction"),
    "dna": ("sequence_classification",),
    "variant_effect": ("variant_effect",),
    "variants": (),
}


def check_card(card: Mapping[str, Any], source: str) -> None:
    """What a card asks of the task layer must be buildable: refused at card load, one line each.

    A task its modality does not build, tasks without ``params.split.enabled`` (they would
    silently give no bundle), a ``variant_effect`` card without splits, and the k-mer counts the
    ``sequence_classification`` bundle and the ``variant_effect`` baseline read.
    """
    modality = card["modality"]
    params = card.get("params", {})
    tasks = params.get("tasks", {})
    names = list(tasks.get("names", ()))
    offered = MODALITY_TASKS.get(modality, ())
    for name in names:
        if name not in offered:
            builds = ", ".join(offered) if offered else "no task bundle"
            raise InputError(
                source,
                f"task {name!r} is not built for {modality} datasets ({modality} builds: {builds})",
                record="params.tasks.names",
            )
    split_on = params.get("split", {}).get("enabled", False)
    if modality == "variant_effect" and not split_on:
        raise InputError(
            source,
            "a variant_effect dataset is a task bundle: set params.split.enabled: true",
            record="params.split.enabled",
        )
    if names and not split_on:
        raise InputError(
            source,
            f"params.tasks.names asks for {', '.join(names)} but params.split.enabled is false: "
            "task bundles are built from the split",
            record="params.split.enabled",
        )
    tokenizers = params.get("tokenizers", ())
    needs_kmers = "sequence_classification" in names or (modality == "variant_effect" and tasks.get("baseline", False))
    if needs_kmers and "kmer_counts" not in tokenizers:
        what = "sequence_classification" if modality == "dna" else "the variant_effect baseline (params.tasks.baseline)"
        raise InputError(
            source, f"{what} reads k-mer counts: add 'kmer_counts' to params.tokenizers", record="params.tokenizers"
        )


@dataclass(frozen=True)
class LeakageOptions(StepOptions):
    """``params.leakage``."""

    policy: str

    @classmethod
    def from_card(cls, card: Mapping[str, Any]) -> LeakageOptions:
        return cls(policy=card["params"]["leakage"]["policy"])


@dataclass(frozen=True)
class TaskOptions(StepOptions):
    """``params.tasks``."""

    names: tuple[str, ...]
    label: str
    mask_fraction: float
    heldout_genes: int
    seed: int
    baseline: bool
    leakage_margin: float

    @classmethod
    def from_card(cls, card: Mapping[str, Any]) -> TaskOptions:
        tasks = card["params"]["tasks"]
        return cls(**{f.name: freeze(tasks[f.name]) for f in dataclasses.fields(cls)})


@dataclass(frozen=True)
class AugmentOptions(StepOptions):
    """``params.augment`` (scRNA-seq raw counts)."""

    downsample: Mapping[str, Any]
    doublets: Mapping[str, Any]

    @classmethod
    def from_card(cls, card: Mapping[str, Any]) -> AugmentOptions:
        augment = card["params"]["augment"]
        return cls(downsample=freeze(augment["downsample"]), doublets=freeze(augment["doublets"]))
