"""What rules/report.smk needs from a card (plain functions: the rule file holds only rules)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from genoprep.dna.tokenize import get_scheme


def with_figures(
    names: Sequence[str] | Callable[[Any], Sequence[str]], figures: Sequence[str]
) -> Callable[[Any], list[str]]:
    """An ``ARTIFACTS`` entry (a list of names or a function of the card) followed by ``figures``."""

    def artifact_names(card: Any) -> list[str]:
        return [*(names(card) if callable(names) else names), *figures]

    return artifact_names


def token_files(params: Mapping[str, Any]) -> list[str]:
    """The token file (first artifact) of each tokenization scheme of a DNA card, in its order."""
    return [get_scheme(name).artifacts(params[name])[0] for name in params["tokenizers"]]


def token_settings(params: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """{scheme: its settings} of a DNA card, in its order (pad ids and file names depend on them)."""
    return {name: dict(params[name]) for name in params["tokenizers"]}
