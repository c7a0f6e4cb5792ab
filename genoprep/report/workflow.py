"""What rules/report.smk needs from a card (plain functions: the rule file holds only rules)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from genoprep.dna.tokenize import get_scheme


def token_files(params: Mapping[str, Any]) -> list[str]:
    """The token file (first artifact) of each tokenization scheme of a DNA card, in its order."""
    return [get_scheme(name).artifacts(params[name])[0] for name in params["tokenizers"]]


def token_settings(params: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """{scheme: its settings} of a DNA card, in its order (pad ids and file names depend on them)."""
    return {name: dict(params[name]) for name in params["tokenizers"]}
