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

from genoprep.options import StepOptions, freeze


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
