"""Deterministic JSON output (sorted keys would reorder reports; insertion order is kept)."""

from __future__ import annotations

import json
import math
import os
from typing import Any

import numpy as np


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(data: Any, path: str | os.PathLike[str]) -> None:
    """Write ``data`` as indented UTF-8 JSON with a final newline; numpy scalars become Python ones."""
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        json.dump(_plain(data), handle, indent=2, ensure_ascii=False, allow_nan=False)
        handle.write("\n")
