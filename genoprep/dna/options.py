"""Each DNA step's slice of the card (see :mod:`genoprep.options`), and the DNA card checks.

A rule passes only what its step reads, so that editing a card's ``description`` or one
scheme's settings reruns nothing else. Input entries are passed without their ``path`` and
``url`` (the file is the rule's input) and, except to ``dna_ingest``, without their ``sha256``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Self

from genoprep.dna.io import SequenceFilter, compile_label_regex
from genoprep.dna.tokenize import get_scheme
from genoprep.errors import InputError
from genoprep.options import StepOptions, freeze

#: Entry fields a reading step does not use (the file, wherever it came from, is the rule's
#: input; the checksum is ingest's).
_NOT_FOR_READING = ("path", "url", "sha256")


def input_entries(card: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The card's ``input``, or each of its ``inputs``, in card order."""
    return [card["input"]] if "input" in card else list(card["inputs"])


def _reading_fields(card: Mapping[str, Any]) -> dict[str, Any]:
    params = card["params"]
    return {
        "inputs": freeze([{k: v for k, v in e.items() if k not in _NOT_FOR_READING} for e in input_entries(card)]),
        "columns": freeze(card["columns"]),
        "min_length": params["min_length"],
        "max_n_fraction": params["max_n_fraction"],
    }


@dataclasses.dataclass(frozen=True)
class ReadOptions(StepOptions):
    """What reading the card's inputs takes: the entries (no paths), table columns and sequence filters."""

    inputs: tuple[Mapping[str, Any], ...]
    columns: Mapping[str, Any]
    min_length: int
    max_n_fraction: float

    @classmethod
    def from_card(cls, card: Mapping[str, Any]) -> Self:
        return cls(**_reading_fields(card))

    @property
    def keep(self) -> SequenceFilter:
        return SequenceFilter(self.min_length, self.max_n_fraction)


@dataclasses.dataclass(frozen=True)
class IngestOptions(ReadOptions):
    """Rule ``dna_ingest``: reading, plus the checksums to verify and the filter guard."""

    dataset_id: str
    sha256: tuple[str | None, ...]
    min_fraction_kept: float

    @classmethod
    def from_card(cls, card: Mapping[str, Any]) -> Self:
        return cls(
            **_reading_fields(card),
            dataset_id=card["dataset_id"],
            sha256=tuple(entry.get("sha256") for entry in input_entries(card)),
            min_fraction_kept=card["params"]["min_fraction_kept"],
        )


@dataclasses.dataclass(frozen=True)
class SchemeOptions(ReadOptions):
    """Rules ``dna_tokens_fixed``/``dna_tokens_variable``/``dna_kmer_counts``/``dna_kmer_text``:
    reading, plus one scheme's settings (``params.<scheme>``)."""

    scheme: str
    settings: Mapping[str, Any]

    @classmethod
    def from_card(cls, card: Mapping[str, Any], scheme: str | None = None) -> Self:
        if scheme is None:
            raise TypeError("SchemeOptions.from_card needs the scheme's name")
        return cls(**_reading_fields(card), scheme=scheme, settings=freeze(card["params"][scheme]))


@dataclasses.dataclass(frozen=True)
class FactsOptions(StepOptions):
    """Rule ``dna_facts``: the schemes in card order with their settings, and the filters."""

    schemes: Mapping[str, Mapping[str, Any]]
    min_length: int
    max_n_fraction: float

    @classmethod
    def from_card(cls, card: Mapping[str, Any]) -> Self:
        params = card["params"]
        return cls(
            schemes=freeze({name: params[name] for name in params["tokenizers"]}),
            min_length=params["min_length"],
            max_n_fraction=params["max_n_fraction"],
        )


def artifact_names(card: Any) -> list[str]:
    """File names of a DNA dataset's artifacts (``ARTIFACTS["dna"]``): obs.tsv, qc.json, then
    each scheme's, in ``params.tokenizers`` order. ``card`` is a :class:`genoprep.cards.Card`."""
    params = card.params
    names = ["obs.tsv", "qc.json"]
    for name in params["tokenizers"]:
        names += get_scheme(name).artifacts(params[name])
    return names


def check_card(card: Mapping[str, Any], source: str) -> None:
    """Checks of a DNA card the JSON schema cannot make, one line each (for the card loader).

    Every ``label_regex`` must compile (:func:`genoprep.dna.io.compile_label_regex`).
    """
    for position, entry in enumerate(input_entries(card)):
        pattern = entry.get("label_regex")
        if pattern is not None:
            field = "input" if "input" in card else f"inputs[{position}]"
            try:
                compile_label_regex(pattern, source)
            except InputError as error:
                raise InputError(source, error.problem, record=f"{field}.label_regex") from None
    check_split_files(card, source)
    check_windows(card["params"], source)


def window_size(name: str, settings: Mapping[str, Any]) -> int | None:
    """Bases of one window of a scheme's rows, or None when the scheme makes one row per record.

    ``char``/``hyenadna``: the bases of a row (``max_len`` minus special tokens) when ``stride``
    is set; ``dnabert``/``nucleotide_transformer``: ``window``.
    """
    scheme = get_scheme(name)
    if scheme.kind == "fixed":
        return scheme.usable_length(settings) if settings.get("stride") is not None else None
    if scheme.kind == "variable":
        return settings.get("window")
    return None


def window_stride(name: str, settings: Mapping[str, Any]) -> int | None:
    """Bases between window starts (``stride``, or the window itself when only ``window`` is set)."""
    size = window_size(name, settings)
    if size is None:
        return None
    return int(settings["stride"]) if settings.get("stride") is not None else size


def check_windows(params: Mapping[str, Any], source: str) -> None:
    """Windows leave no base out: ``stride`` at most the window (one line naming the field)."""
    for name in params["tokenizers"]:
        settings = params.get(name) or {}
        if get_scheme(name).kind not in ("fixed", "variable") or settings.get("stride") is None:
            continue  # kmer_tokenize's stride is the k-mer step, not a window's
        size = window_size(name, settings)
        if size is None:
            raise InputError(
                source,
                f"stride needs a window: set params.{name}.window (bases per row)",
                record=f"params.{name}.stride",
            )
        if settings["stride"] > size:
            raise InputError(
                source,
                f"stride {settings['stride']} is longer than the window ({size} bases): the bases between "
                "windows would be left out",
                record=f"params.{name}.stride",
            )


def check_split_files(card: Mapping[str, Any], source: str) -> None:
    """One input file per split (the entries' ``split``): all entries or none, known split names,
    and not together with ``params.split.predefined``."""
    from genoprep.splits import ALIASES

    given = [entry.get("split") for entry in input_entries(card)]
    if all(value is None for value in given):
        return
    if any(value is None for value in given):
        raise InputError(source, "either every input names its split or none does", record="inputs")
    for position, value in enumerate(given):
        if str(value).strip().lower() not in ALIASES:
            raise InputError(
                source,
                f"split {value!r} is not a split name (train, val/dev/validation, test)",
                record=f"inputs[{position}].split",
            )
    if card["params"]["split"].get("predefined"):
        raise InputError(
            source, "the inputs name their split: params.split.predefined must not be set too", record="params.split"
        )
