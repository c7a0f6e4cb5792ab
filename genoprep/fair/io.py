"""Reading the completed card of a finished dataset folder."""

from __future__ import annotations

import os
from typing import Any

import yaml

from genoprep.cards import Card
from genoprep.errors import InputError


def read_completed_card(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The completed card and its ``computed.artifacts_sha256`` (file name -> digest)."""
    with open(path, encoding="utf-8") as handle:
        card = yaml.safe_load(handle)
    artifacts = card.get("computed", {}).get("artifacts_sha256") if isinstance(card, dict) else None
    if not isinstance(artifacts, dict) or not artifacts:
        raise InputError(os.fspath(path), "not a completed card: no computed.artifacts_sha256")
    return card, {str(k): str(v) for k, v in artifacts.items()}


def rerunnable_card(card: Card) -> dict[str, Any]:
    """The card's fields with every local input and metadata ``path`` made absolute.

    A card's relative paths are relative to its own folder; the completed card lives in the
    results folder, so that a relative path would lead nowhere once it is run from there (or
    from a copy of the results folder). Inputs with a ``url`` keep their ``path``: it names
    the download under the results folder's working space.
    """
    data = dict(card.data)

    def absolute(entry: dict[str, Any]) -> dict[str, Any]:
        if "url" in entry or "path" not in entry:
            return entry
        return {**entry, "path": os.path.abspath(card.resolve(entry["path"]))}

    if "input" in data:
        data["input"] = absolute(dict(data["input"]))
    if "inputs" in data:
        data["inputs"] = [absolute(dict(entry)) for entry in data["inputs"]]
    if data.get("metadata") and "path" in data["metadata"]:
        data["metadata"] = absolute(dict(data["metadata"]))
    return data
