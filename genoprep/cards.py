"""Dataset cards: one YAML file per dataset, validated against JSON schemas.

A card is checked in two passes: ``card.schema.yaml`` holds the fields every modality
shares, ``modality/<modality>.schema.yaml`` the input, columns and params of one
modality. Both passes fill in schema defaults (the same default-filling validator that
``snakemake.utils.validate`` uses), so a loaded card carries every parameter explicitly.
An invalid card raises :class:`CardError`, one line naming the card, the field and what
is wrong.
"""

from __future__ import annotations

import copy
import functools
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from jsonschema import Draft202012Validator, validators

from genoprep.errors import InputError

#: the folder of the card schemas, shipped with the workflow
SCHEMA_DIR = Path(__file__).resolve().parent.parent / "config" / "schemas"

#: params every modality shares (e.g. ``split``), merged into each modality schema's ``params``
COMMON_PARAMS_SCHEMA = "common_params.schema.yaml"


#: the C YAML loader where PyYAML was built with libyaml (10x faster), else the Python one
_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class CardError(InputError):
    """An invalid dataset card."""


def _with_defaults(validator_class: type) -> type:
    """Extend a jsonschema validator so that it fills in ``default`` values."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):  # type: ignore[no-untyped-def]
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema:
                    instance.setdefault(name, copy.deepcopy(subschema["default"]))
        yield from validate_properties(validator, properties, instance, schema)

    return validators.extend(validator_class, {"properties": set_defaults})


_DefaultFillingValidator = _with_defaults(Draft202012Validator)


def _field_name(error: jsonschema.ValidationError) -> str:
    parts: list[str] = []
    for part in error.absolute_path:
        parts.append(f"[{part}]" if isinstance(part, int) else f".{part}")
    return "".join(parts).lstrip(".") or "(card)"


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def load_schema(name: str, schema_dir: Path = SCHEMA_DIR) -> dict[str, Any]:
    """A YAML JSON-schema file of ``schema_dir`` (parsed once per process; do not modify it)."""
    return _parsed_schema(os.fspath(schema_dir), name)


@functools.cache
def _parsed_schema(schema_dir: str, name: str) -> dict[str, Any]:
    with open(os.path.join(schema_dir, name), encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_YamlLoader)


def modality_schema(modality: str, schema_dir: Path = SCHEMA_DIR) -> dict[str, Any]:
    """The schema of one modality, with the common params merged into its ``params``.

    The ``properties`` of ``common_params.schema.yaml`` (when that file exists) are added
    to the modality schema's ``params.properties``; where both define a param the
    modality's own definition wins. Parsed and merged once per process.
    """
    return _merged_modality_schema(os.fspath(schema_dir), modality)


@functools.cache
def _merged_modality_schema(schema_dir: str, modality: str) -> dict[str, Any]:
    schema = copy.deepcopy(_parsed_schema(schema_dir, f"modality/{modality}.schema.yaml"))
    if not os.path.exists(os.path.join(schema_dir, COMMON_PARAMS_SCHEMA)):
        return schema
    common = _parsed_schema(schema_dir, COMMON_PARAMS_SCHEMA).get("properties") or {}
    params = schema.setdefault("properties", {}).setdefault("params", {"type": "object"})
    params["properties"] = {**copy.deepcopy(common), **(params.get("properties") or {})}
    return schema


@functools.cache
def _validator(schema_dir: str, name: str) -> Any:
    """A compiled default-filling validator for a schema file (``modality/<m>`` merged as above)."""
    if name.startswith("modality/"):
        schema = _merged_modality_schema(schema_dir, name.removeprefix("modality/"))
    else:
        schema = _parsed_schema(schema_dir, name)
    return _DefaultFillingValidator(schema)


def _check(data: Any, validator: Any, source: str) -> None:
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        raise CardError(source, _short(error.message), record=_field_name(error))


def validate(data: Any, schema: Mapping[str, Any], source: str) -> None:
    """Validate ``data`` in place against ``schema``, filling defaults.

    Raises :class:`CardError` for the first (best-matching) violation.
    """
    _check(data, _DefaultFillingValidator(schema), source)


@dataclass(frozen=True)
class Card:
    """A validated dataset card (defaults filled in)."""

    path: Path
    data: dict[str, Any]

    @property
    def dataset_id(self) -> str:
        return str(self.data["dataset_id"])

    @property
    def modality(self) -> str:
        return str(self.data["modality"])

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.data.get("params", {}))

    @property
    def folder(self) -> Path:
        return self.path.parent

    def resolve(self, path: str | os.PathLike[str]) -> Path:
        """A path of the card, relative to the card's folder unless absolute."""
        path = Path(path)
        return Path(os.path.normpath(path if path.is_absolute() else self.folder / path))

    def input_entries(self) -> list[dict[str, Any]]:
        """The card's inputs (``input`` or each of ``inputs``), in card order."""
        if "input" in self.data:
            return [self.data["input"]]
        return list(self.data["inputs"])

    def input_paths(self) -> list[Path]:
        return [self.resolve(entry["path"]) for entry in self.input_entries()]

    def metadata_path(self) -> Path | None:
        meta = self.data.get("metadata")
        return self.resolve(meta["path"]) if meta else None


def read_yaml(path: Path) -> Any:
    """Parse a YAML file; syntax errors become one-line :class:`CardError`."""
    try:
        with open(path, encoding="utf-8") as handle:
            return yaml.load(handle, Loader=_YamlLoader)
    except UnicodeDecodeError as err:
        raise CardError(str(path), f"not UTF-8 text ({err.reason} at byte {err.start})") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else None
        problem = getattr(err, "problem", None) or str(err)
        raise CardError(str(path), f"not valid YAML: {_short(str(problem))}", record=where) from None
    except OSError as err:
        raise CardError(str(path), f"cannot read card: {err.strerror}") from None


def load_card(path: str | os.PathLike[str], schema_dir: Path = SCHEMA_DIR) -> Card:
    """Read and validate one card; defaults of its modality's params are filled in."""
    path = Path(path)
    data = read_yaml(path)
    source = str(path)
    if not isinstance(data, dict):
        raise CardError(source, "a card must be a YAML mapping of fields")
    schema_dir_name = os.fspath(schema_dir)
    _check(data, _validator(schema_dir_name, "card.schema.yaml"), source)
    if ("input" in data) == ("inputs" in data):
        raise CardError(source, "give exactly one of 'input' (one file) or 'inputs' (a list)", record="input")
    if not os.path.exists(os.path.join(schema_dir_name, "modality", f"{data['modality']}.schema.yaml")):
        raise CardError(source, f"modality {data['modality']!r} is not supported yet", record="modality")
    _check(data, _validator(schema_dir_name, f"modality/{data['modality']}"), source)
    return Card(path=path, data=data)


def discover_cards(spec: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Card files named by ``spec``: a folder (its ``*.yaml``/``*.yml``), a file, or a list of both."""
    items: Iterable[str | os.PathLike[str]]
    items = [spec] if isinstance(spec, (str, os.PathLike)) else spec
    found: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file()))
        elif path.is_file():
            found.append(path)
        else:
            raise CardError(str(path), "no such card file or folder", record="datasets")
    if not found:
        raise CardError(", ".join(str(i) for i in items), "no dataset cards (*.yaml) found", record="datasets")
    return found


def load_cards(
    spec: str | os.PathLike[str] | Iterable[str | os.PathLike[str]], schema_dir: Path = SCHEMA_DIR
) -> dict[str, Card]:
    """Load every card named by ``spec``, keyed by dataset id (ids must be unique)."""
    cards: dict[str, Card] = {}
    for path in discover_cards(spec):
        card = load_card(path, schema_dir)
        if card.dataset_id in cards:
            other = cards[card.dataset_id].path
            raise CardError(str(path), f"dataset_id {card.dataset_id!r} is already used by {other}", record="dataset_id")
        cards[card.dataset_id] = card
    return cards


def write_yaml(data: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    """Write a card as block-style UTF-8 YAML, keys in their given order."""
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        yaml.safe_dump(dict(data), handle, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)
