"""The params every modality shares (``split``, ``leakage``, ``tasks``, ``augment``), defaults filled.

Their schema is ``config/schemas/common_params.schema.yaml``. The card loader merges its
properties into every modality's ``params`` (then a loaded card already carries every
default); :func:`common_params` validates the same fragment once more, filling any default
still missing, so a step reads these params the same way whether or not the loader did it.
Filling defaults is idempotent: a complete section comes back unchanged.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from genoprep.cards import load_schema, validate

COMMON = ("split", "leakage", "tasks", "augment")


def common_params(card: Mapping[str, Any]) -> dict[str, Any]:
    """The card's ``split``/``leakage``/``tasks``/``augment`` params, validated, with schema defaults."""
    # TODO(shared): once cards.load_card merges common_params.schema.yaml, this only re-checks
    params = {key: copy.deepcopy(value) for key, value in card.get("params", {}).items() if key in COMMON}
    validate(params, load_schema("common_params.schema.yaml"), str(card.get("dataset_id", "card")) + ": params")
    return params
