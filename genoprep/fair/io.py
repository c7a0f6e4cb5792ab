"""Reading the completed card of a finished dataset folder."""

from __future__ import annotations

import os
from typing import Any

import yaml

from genoprep.errors import InputError


def read_completed_card(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The completed card and its ``computed.artifacts_sha256`` (file name -> digest)."""
    with open(path, encoding="utf-8") as handle:
        card = yaml.safe_load(handle)
    artifacts = card.get("computed", {}).get("artifacts_sha256") if isinstance(card, dict) else None
    if not isinstance(artifacts, dict) or not artifacts:
        raise InputError(os.fspath(path), "not a completed card: no computed.artifacts_sha256")
    return card, {str(k): str(v) for k, v in artifacts.items()}
