"""Dataset cards: one YAML file per dataset, validated against JSON schemas.

A card is checked in two passes: ``card.schema.yaml`` holds the fields every modality
shares, ``modality/<modality>.schema.yaml`` the input, columns and params of one
modality. Both passes fill in schema defaults (the same default-filling validator that
``snakemake.utils.validate`` uses), so a loaded card carries every parameter explicitly.
An invalid card raises :class:`CardError`, one line naming the card, the field and what
is wrong. :func:`check_inputs` then checks the card's input and metadata paths (present,
readable, file or folder as the format needs), so that a missing file is reported with the
card and the field before Snakemake builds the job graph.

Schemas are parsed and their validators compiled once per process (a run of thousands of
cards pays for them once).
"""

from __future__ import annotations

import copy
import functools
import importlib
import importlib.resources
import json
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from jsonschema import Draft202012Validator, validators

from genoprep import textio
from genoprep.errors import InputError

#: where the schemas are inside the package (package data, found through importlib.resources)
_PACKAGED_SCHEMAS = "schemas"


def _schema_dir() -> Path:
    """The card schemas: ``genoprep/schemas``, package data found through importlib.resources
    (so the card loader works from an installed genoprep as from the checkout)."""
    return Path(str(importlib.resources.files("genoprep").joinpath(_PACKAGED_SCHEMAS)))


#: the folder of the card schemas (card, config, modality/<modality>, common params)
SCHEMA_DIR = _schema_dir()

#: params every modality shares (e.g. ``split``), merged into each modality schema's ``params``
COMMON_PARAMS_SCHEMA = "common_params.schema.yaml"


#: input formats that name a folder, not a file
FOLDER_FORMATS = frozenset({"10x_mtx", "zarr"})

#: input fields naming a file that goes with the input (the id files of a NumPy bulk matrix)
SIDECAR_FIELDS = ("gene_ids_path", "sample_ids_path")

#: a dataset id is a plain folder name: no separators, not "." or "..", not hidden (".work")
DATASET_ID = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*$")
#: the same, unanchored: a dataset id inside a path pattern
_ANY_DATASET_ID = DATASET_ID.pattern[1:-1]

#: nesting deeper than this is not a card (and catches recursive YAML aliases)
_MAX_DEPTH = 50

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


def _inline_refs(node: Any, defs: Mapping[str, Any]) -> Any:
    """The schema with its local ``{"$ref": "#/$defs/x"}`` replaced by the definitions themselves.

    Resolving a reference costs jsonschema a registry look-up per card; inlined, a run of
    thousands of cards pays nothing for them. Keywords beside a ``$ref`` (a ``default``)
    are kept; a reference whose siblings would clash with the definition's keywords stays.
    """
    if isinstance(node, list):
        return [_inline_refs(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    inlined = {key: _inline_refs(value, defs) for key, value in node.items() if key != "$defs"}
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/") and ref.removeprefix("#/$defs/") in defs:
        target = _inline_refs(defs[ref.removeprefix("#/$defs/")], defs)
        siblings = {key: value for key, value in inlined.items() if key != "$ref"}
        if isinstance(target, dict) and not set(siblings) & set(target):
            return {**target, **siblings}
    if "$defs" in node:
        inlined["$defs"] = node["$defs"]
    return inlined


@functools.cache
def _validator(schema_dir: str, name: str) -> Any:
    """A compiled default-filling validator for a schema file (``modality/<m>`` merged as above)."""
    if name.startswith("modality/"):
        schema = _merged_modality_schema(schema_dir, name.removeprefix("modality/"))
    else:
        schema = _parsed_schema(schema_dir, name)
    return _DefaultFillingValidator(_inline_refs(schema, schema.get("$defs") or {}))


def _check(data: Any, validator: Any, source: str) -> None:
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        raise CardError(source, _short(error.message), record=_field_name(error))


def validate(data: Any, schema: Mapping[str, Any], source: str) -> None:
    """Validate ``data`` in place against ``schema``, filling defaults.

    Raises :class:`CardError` for the first (best-matching) violation.
    """
    _check(data, _DefaultFillingValidator(schema), source)


@functools.cache
def _field_validators(schema_dir: str, modality: str) -> tuple[tuple[str, ...], dict[str, tuple[Any, Any]]]:
    """The modality schema's required fields, and per top-level field a validator of that field alone.

    The top level of a modality schema is ``type``/``required``/``properties`` only (no keyword
    relates two fields), so each field's subtree can be validated, and its defaults filled, on
    its own. Each validator checks ``{field: value}`` against the schema with that one property
    (``$defs`` kept for references). Also gives each field's top-level default (or ``_NO_DEFAULT``).
    """
    schema = _merged_modality_schema(schema_dir, modality)
    inlined = _inline_refs(schema, schema.get("$defs") or {})
    frame = {key: value for key, value in inlined.items() if key not in ("properties", "required")}
    fields = {
        name: (_DefaultFillingValidator({**frame, "properties": {name: sub}}), sub.get("default", _NO_DEFAULT))
        for name, sub in (inlined.get("properties") or {}).items()
    }
    return tuple(inlined.get("required") or ()), fields


_NO_DEFAULT = object()
#: (schema folder, modality, field, JSON of the card's value, keys in the card's order) -> the value validated with
#: its defaults filled in. Thousands of cards of a hub repeat the same params: each distinct
#: value is validated once per process.
_VALIDATED_FIELDS: dict[tuple[str, str, str, str], Any] = {}


def _check_modality(data: dict[str, Any], schema_dir: str, modality: str, source: str) -> None:
    """The modality schema's pass over a card (as ``_check`` with its validator), field values memoized.

    Any value not seen before is validated; on an error, or a value JSON cannot hold (a YAML
    date), the whole card goes through the full validator, so errors read exactly the same.
    """
    required, fields = _field_validators(schema_dir, modality)
    if not all(name in data for name in required):
        _check(data, _validator(schema_dir, f"modality/{modality}"), source)
        return
    filled: dict[str, Any] = {}
    for name, (validator, default) in fields.items():
        if name in data:
            value = data[name]
        elif default is not _NO_DEFAULT:
            value = default
        else:
            continue
        try:
            key = (schema_dir, modality, name, json.dumps(value, allow_nan=False))
        except (TypeError, ValueError):
            _check(data, _validator(schema_dir, f"modality/{modality}"), source)
            return
        if key not in _VALIDATED_FIELDS:
            instance = {name: copy.deepcopy(value)}
            if next(validator.iter_errors(instance), None) is not None:
                _check(data, _validator(schema_dir, f"modality/{modality}"), source)
                return
            _VALIDATED_FIELDS[key] = instance[name]
        filled[name] = copy.deepcopy(_VALIDATED_FIELDS[key])
    data.update(filled)


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
        return list(self._input_paths)

    def metadata_path(self) -> Path | None:
        return self._metadata_path

    # resolved once per card: Snakemake asks for them in several rules of every dataset
    @functools.cached_property
    def _input_paths(self) -> tuple[Path, ...]:
        return tuple(self.resolve(entry["path"]) for entry in self.input_entries())

    @functools.cached_property
    def _metadata_path(self) -> Path | None:
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


def _check_plain(value: Any, source: str, where: str = "", depth: int = 0) -> None:
    """Refuse what JSON has no word for: keys that are not text, recursive aliases, NUL in text, NaN.

    (A JSON schema's ``minimum``/``maximum`` let NaN through: ``max_pct_mito: .nan`` would pass
    validation and then compare false against every cell.)"""
    if depth > _MAX_DEPTH:
        raise CardError(
            source, f"nested more than {_MAX_DEPTH} levels deep (a recursive YAML alias?)", record=where or None
        )
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise CardError(source, f"the key {key!r} is not text (quote it)", record=where or None)
            _check_plain(item, source, f"{where}.{key}" if where else key, depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_plain(item, source, f"{where}[{index}]", depth + 1)
    elif isinstance(value, str) and "\x00" in value:
        raise CardError(source, "contains a NUL character", record=where or None)
    elif isinstance(value, float) and math.isnan(value):
        raise CardError(
            source, "is NaN (.nan), not a number: give a value or leave the field out", record=where or None
        )


def check_dataset_id(data: Mapping[str, Any], source: str) -> None:
    """Refuse an id that is not a plain folder name (it names OUT/<dataset_id>/)."""
    dataset_id = data.get("dataset_id")
    if isinstance(dataset_id, str) and not DATASET_ID.match(dataset_id):
        raise CardError(
            source,
            f"{dataset_id!r} is not a plain folder name: use letters, digits, '.', '_' and "
            f"'-', not starting with '.' (the id names the folder OUT/<dataset_id>/)",
            record="dataset_id",
        )


#: checks of every card that a JSON schema cannot make (module, function(card, source))
CARD_CHECKS: tuple[tuple[str, str], ...] = (("genoprep.tasks.params", "check_card"),)
#: checks of a modality's cards that a JSON schema cannot make (module, function(card, source)),
#: imported only when a card of that modality is loaded
MODALITY_CHECKS: dict[str, tuple[str, str]] = {
    "dna": ("genoprep.dna.options", "check_card"),
    "scrna": ("genoprep.scrna.options", "check_card"),
}


def load_card(path: str | os.PathLike[str], schema_dir: Path = SCHEMA_DIR) -> Card:
    """Read and validate one card; defaults of its modality's params are filled in.

    Input paths are not looked at here: see :func:`check_inputs`.
    """
    path = Path(path)
    data = read_yaml(path)
    source = str(path)
    if not isinstance(data, dict):
        raise CardError(source, "a card must be a YAML mapping of fields")
    _check_plain(data, source)
    check_dataset_id(data, source)
    schema_dir_name = os.fspath(schema_dir)
    _check(data, _validator(schema_dir_name, "card.schema.yaml"), source)
    if ("input" in data) == ("inputs" in data):
        raise CardError(source, "give exactly one of 'input' (one file) or 'inputs' (a list)", record="input")
    if not os.path.exists(os.path.join(schema_dir_name, "modality", f"{data['modality']}.schema.yaml")):
        raise CardError(source, f"modality {data['modality']!r} is not supported yet", record="modality")
    _check_modality(data, schema_dir_name, data["modality"], source)
    modality_check = MODALITY_CHECKS.get(data["modality"])
    for module, function in [*CARD_CHECKS, *([modality_check] if modality_check else [])]:
        try:
            importlib.import_module(module).__dict__[function](data, source)
        except CardError:
            raise
        except InputError as err:
            raise CardError(source, err.problem, record=err.record) from None
    return Card(path=path, data=data)


def _entry_fields(card: Card) -> list[tuple[str, dict[str, Any], bool | None]]:
    """(card field, entry, folder expected?) for every path of the card; ``None``: either kind."""
    if "input" in card.data:
        entries = [("input", card.data["input"])]
    else:
        entries = [(f"inputs[{i}]", entry) for i, entry in enumerate(card.data["inputs"])]
    fields: list[tuple[str, dict[str, Any], bool | None]] = [
        (name, entry, entry.get("format") in FOLDER_FORMATS) for name, entry in entries
    ]
    fields += [
        (f"{name}.{key}", {"path": entry[key]}, False)
        for name, entry in entries
        for key in SIDECAR_FIELDS
        if key in entry
    ]
    if card.data.get("metadata"):
        fields.append(("metadata", card.data["metadata"], False))
    return fields


def check_inputs(card: Card, generated: Iterable[str | os.PathLike[str]] = ()) -> None:
    """Check every input and metadata path of a card before any job runs.

    Each must exist (a symbolic link must lead somewhere), be readable and be a file, or a
    folder for the folder formats (:data:`FOLDER_FORMATS`). Paths in ``generated`` (made by
    the workflow's own rules, e.g. the demo input) are not checked. Raises one
    :class:`CardError` line naming the card, the field, the path and the problem.
    """
    skip = {os.path.abspath(p) for p in generated}
    for field, entry, folder in _entry_fields(card):
        if "url" in entry:  # fetched by the workflow (rule download_input) into the results folder
            continue
        given = str(entry["path"])
        path = card.resolve(given)
        if os.path.abspath(path) in skip:
            continue
        try:
            textio.check_readable(path, folder=bool(folder))
        except InputError as err:
            problem = err.problem
            if not os.path.isabs(given) and not os.path.lexists(path):
                problem += f" (the path {given!r} is relative to the card's folder {card.folder})"
            record = field if field.endswith(SIDECAR_FIELDS) else f"{field}.path"
            raise CardError(str(card.path), f"{path}: {problem}", record=record) from None


def ids_regex(ids: Iterable[str]) -> str:
    """A regular expression matching exactly ``ids`` (and nothing else, when anchored).

    The ids are factored into a trie (``d0(?:01|12)`` for ``d001``, ``d012``), so matching a
    path costs the length of the id, not the number of ids: with thousands of datasets every
    rule's output pattern holds this expression, and Snakemake tries it on every file. An
    empty set gives a pattern that matches nothing.
    """
    trie: dict[str, Any] = {}
    for dataset_id in sorted(set(ids)):
        node = trie
        for char in dataset_id:
            node = node.setdefault(char, {})
        node[""] = {}  # the end of an id
    if not trie:
        return "(?!)"

    def pattern(node: dict[str, Any]) -> str:
        ends = "" in node
        branches = [re.escape(char) + pattern(child) for char, child in sorted(node.items()) if char != ""]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if ends:
            return f"(?:{body})?" if len(branches) > 1 or len(body) > 1 else f"{body}?"
        return body

    return pattern(trie)


def dataset_constraint(ids: Iterable[str], others: Iterable[str]) -> str:
    """A wildcard constraint on the dataset id that accepts ``ids`` and refuses ``others``.

    ``ids`` are the datasets of one modality (the outputs of its rules), ``others`` every
    other card of the run. Two expressions do that: the ids themselves (:func:`ids_regex`), or
    any dataset id but the others (a negative look-ahead: an id of ``others`` followed by the
    ``/`` that ends the path segment, or by the end of a bare wildcard value, is refused).
    The shorter one is returned: Snakemake rescans the text of an output pattern, constraint
    included, each time it makes a job of the rule (~0.26 ms for 10,000 ids, see
    bench/RESULTS.md "cards"), so in a hub where most cards are of one modality, that
    modality's outputs hold a short expression instead of a trie of nearly every id. Both
    answer the same for every card of the run; the look-ahead also accepts ids that no card
    has (no input of the workflow names such a dataset).
    """
    own = ids_regex(ids)
    others = set(others)
    if not others:
        return _ANY_DATASET_ID
    all_but_others = f"(?!(?:{ids_regex(others)})(?:/|$)){_ANY_DATASET_ID}"
    return own if len(own) <= len(all_but_others) else all_but_others


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
    spec: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    schema_dir: Path = SCHEMA_DIR,
    *,
    inputs: bool = False,
    generated: Iterable[str | os.PathLike[str]] = (),
) -> dict[str, Card]:
    """Load every card named by ``spec``, keyed by dataset id (ids must be unique).

    With ``inputs``, each card's paths are checked too (:func:`check_inputs`).
    """
    generated = list(generated)
    cards: dict[str, Card] = {}
    for path in discover_cards(spec):
        card = load_card(path, schema_dir)
        if inputs:
            check_inputs(card, generated)
        if card.dataset_id in cards:
            other = cards[card.dataset_id].path
            raise CardError(
                str(path), f"dataset_id {card.dataset_id!r} is already used by {other}", record="dataset_id"
            )
        cards[card.dataset_id] = card
    return cards


def write_yaml(data: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    """Write a card as block-style UTF-8 YAML, keys in their given order."""
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        yaml.safe_dump(dict(data), handle, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)
