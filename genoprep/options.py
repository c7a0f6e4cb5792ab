"""Step options: the slice of a dataset card one workflow step uses.

Snakemake reruns a job when its ``params`` change, so a rule must receive only what its
step reads, never the whole card (editing a card's ``description`` must not rerun the
chain). Each step declares a small frozen dataclass derived from :class:`StepOptions`;
the rule's ``params`` carry it as a plain dict (Snakemake can only compare builtin values:
a dataclass would be *unrepresentable* and its changes would go unnoticed), and the script
rebuilds the typed object with :meth:`StepOptions.from_params`.

Defaults live in the schemas only: a loaded card has every field filled in, so
``from_card`` reads fields by name (``card["params"][name]``) and never supplies a default.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Self


def freeze(value: Any) -> Any:
    """Lists become tuples and mappings stay mappings with frozen values (hashable, comparable)."""
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    if isinstance(value, Mapping):
        return {str(k): freeze(v) for k, v in value.items()}
    return value


@dataclasses.dataclass(frozen=True)
class StepOptions:
    """Base class of every step's options (a frozen dataclass of builtin values)."""

    @classmethod
    def from_card(cls, card: Mapping[str, Any]) -> Self:
        """The options from a validated card: each field is ``card["params"][field]``.

        Subclasses whose fields come from elsewhere in the card (``input``, ``columns``)
        override this; none of them supplies a default (the schema did).
        """
        params = card["params"]
        return cls(**{f.name: freeze(params[f.name]) for f in dataclasses.fields(cls)})

    def as_params(self) -> dict[str, Any]:
        """The options as a plain dict of builtins (what a rule's ``params`` carries)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Self:
        """Rebuild the options from a rule's ``params`` entry (the inverse of :meth:`as_params`)."""
        return cls(**{name: freeze(value) for name, value in params.items()})
