"""The params every modality shares (``split``, ``leakage``, ``tasks``, ``augment``), defaults filled.

Their schema is ``config/schemas/common_params.schema.yaml``. The card loader merges its
properties into every modality's ``params`` (then a loaded card already carries every
default); :func:`common_params` validates the same fragment once more, filling any default
still missing, so a step reads these params the same way whether or not the loader did it.
Filling defaults is idempotent: a complete section comes back unchanged.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from genoprep.cards import load_schema, validate
from genoprep.options import StepOptions, freeze

COMMON = ("split", "leakage", "tasks", "augment")


def common_params(card: Mapping[str, Any]) -> dict[str, Any]:
    """The card's ``split``/``leakage``/``tasks``/``augment`` params, validated, with schema defaults."""
    # TODO(shared): once cards.load_card merges common_params.schema.yaml, this only re-checks
    params = {key: copy.deepcopy(value) for key, value in card.get("params", {}).items() if key in COMMON}
    validate(params, load_schema("common_params.schema.yaml"), str(card.get("dataset_id", "card")) + ": params")
    return params


@dataclass(frozen=True)
class LeakageOptions(StepOptions):
    """``params.leakage``."""

    policy: str

    @classmethod
    def from_card(cls, card: Mapping[str, Any]) -> LeakageOptions:
        return cls(policy=common_params(card)["leakage"]["policy"])


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
        tasks = common_params(card)["tasks"]
        return cls(**{f.name: freeze(tasks[f.name]) for f in dataclasses.fields(cls)})


@dataclass(frozen=True)
class AugmentOptions(StepOptions):
    """``params.augment`` (scRNA-seq raw counts)."""

    downsample: Mapping[str, Any]
    doublets: Mapping[str, Any]

    @classmethod
    def from_card(cls, card: Mapping[str, Any]) -> AugmentOptions:
        augment = common_params(card)["augment"]
        return cls(downsample=freeze(augment["downsample"]), doublets=freeze(augment["doublets"]))
