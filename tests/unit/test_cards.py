"""Dataset cards: schema validation, defaults, one-line errors, discovery."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from genoprep.cards import (
    COMMON_PARAMS_SCHEMA,
    SCHEMA_DIR,
    CardError,
    discover_cards,
    load_card,
    load_cards,
    load_schema,
    modality_schema,
)

GOOD = {
    "dataset_id": "pbmc_x",
    "name": "PBMC",
    "modality": "scrna",
    "input": {"path": "counts.csv.gz", "format": "csv", "orientation": "genes_x_cells"},
}


def write(folder: Path, card: dict, name: str | None = None) -> Path:
    path = folder / (name or f"{card['dataset_id']}.yaml")
    path.write_text(yaml.safe_dump(card), encoding="utf-8")
    return path


def test_defaults_are_filled_in(tmp_path: Path) -> None:
    card = load_card(write(tmp_path, GOOD))
    assert card.params["min_genes"] == 200
    assert card.params["min_cells"] == 3
    assert card.params["max_genes"] == 2500
    assert card.params["max_pct_mito"] == 5
    assert card.params["target_sum"] == 10000
    assert card.params["n_top_genes"] == 2000
    assert card.params["scale_max_value"] == 10
    assert card.data["input"]["value_type"] == "counts"


def test_overrides_win_over_defaults(tmp_path: Path) -> None:
    card = load_card(write(tmp_path, {**GOOD, "params": {"min_genes": 10, "max_genes": None}}))
    assert card.params["min_genes"] == 10 and card.params["max_genes"] is None and card.params["min_cells"] == 3


def test_input_path_is_relative_to_the_card(tmp_path: Path) -> None:
    (tmp_path / "cards").mkdir()
    card = load_card(write(tmp_path / "cards", {**GOOD, "input": {**GOOD["input"], "path": "../data/x.csv"}}))
    assert card.input_paths() == [tmp_path / "data" / "x.csv"]
    absolute = load_card(write(tmp_path, {**GOOD, "input": {**GOOD["input"], "path": "/abs/x.csv"}}))
    assert absolute.input_paths() == [Path("/abs/x.csv")]


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"dataset_id": "bad id/with slash"}, "dataset_id", "does not match"),
        ({"modality": "proteomics"}, "modality", "is not one of"),
        ({"input": {"path": "x", "format": "xlsx"}}, "input.format", "is not one of"),
        ({"input": {"path": "x.csv", "format": "csv"}}, "input", "orientation"),
        ({"params": {"min_genes": -1}}, "params.min_genes", "minimum"),
        ({"params": {"min_gens": 3}}, "params", "min_gens"),
        ({"input": {"path": "x", "format": "h5ad", "sha256": "abc"}}, "input.sha256", "does not match"),
    ],
)
def test_invalid_card_gives_one_line_naming_card_and_field(tmp_path: Path, change: dict, field: str,
                                                           words: str) -> None:
    path = write(tmp_path, {**GOOD, **change}, name="card.yaml")
    with pytest.raises(CardError) as info:
        load_card(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: {field}: "), message
    assert words in message


def test_missing_required_field(tmp_path: Path) -> None:
    card = {k: v for k, v in GOOD.items() if k != "name"}
    with pytest.raises(CardError, match="'name' is a required property"):
        load_card(write(tmp_path, card))


def test_input_and_inputs_are_exclusive(tmp_path: Path) -> None:
    with pytest.raises(CardError, match="exactly one of 'input'"):
        load_card(write(tmp_path, {**GOOD, "inputs": [{"path": "a"}]}))


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("dataset_id: x\nname: [unclosed\n", encoding="utf-8")
    with pytest.raises(CardError, match=r"broken.yaml: line \d+: not valid YAML"):
        load_card(path)


def test_ids_must_be_unique_across_cards(tmp_path: Path) -> None:
    write(tmp_path, GOOD, name="a.yaml")
    write(tmp_path, GOOD, name="b.yaml")
    with pytest.raises(CardError, match="dataset_id 'pbmc_x' is already used by"):
        load_cards(tmp_path)


def test_discover_folder_file_and_list(tmp_path: Path) -> None:
    a = write(tmp_path, GOOD, name="a.yaml")
    b = write(tmp_path, {**GOOD, "dataset_id": "other"}, name="b.yml")
    (tmp_path / "notes.txt").write_text("not a card")
    assert discover_cards(tmp_path) == [a, b]
    assert discover_cards(str(a)) == [a]
    assert discover_cards([a, b]) == [a, b]
    assert sorted(load_cards(tmp_path)) == ["other", "pbmc_x"]
    with pytest.raises(CardError, match="no such card file or folder"):
        discover_cards(tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CardError, match="no dataset cards"):
        discover_cards(empty)


def test_repository_cards_are_valid() -> None:
    root = Path(__file__).resolve().parents[2]
    cards = load_cards(root / "config" / "demo")
    assert "pbmc_demo" in cards


def test_metadata_unmatched_policy_defaults_to_error(tmp_path: Path) -> None:
    card = load_card(write(tmp_path, {**GOOD, "metadata": {"path": "m.csv"}}))
    assert card.data["metadata"]["unmatched"] == "error"
    assert load_card(write(tmp_path, {**GOOD, "metadata": {"path": "m.csv", "unmatched": "na"}})).data[
        "metadata"]["unmatched"] == "na"
    with pytest.raises(CardError, match=r"metadata\.unmatched: 'drop' is not one of"):
        load_card(write(tmp_path, {**GOOD, "metadata": {"path": "m.csv", "unmatched": "drop"}}))


def _schemas_with_common(tmp_path: Path, common: dict | None) -> Path:
    """A copy of the repository's schemas, with ``common`` as common_params.schema.yaml (or none)."""
    schemas = tmp_path / "schemas"
    shutil.copytree(SCHEMA_DIR, schemas)
    (schemas / COMMON_PARAMS_SCHEMA).unlink(missing_ok=True)
    if common is not None:
        (schemas / COMMON_PARAMS_SCHEMA).write_text(yaml.safe_dump(common), encoding="utf-8")
    return schemas


def test_common_params_are_merged_into_every_modality(tmp_path: Path) -> None:
    common = {"properties": {
        "split": {"type": "object", "default": {"method": "random", "seed": 0}},
        "min_genes": {"type": "integer", "default": 999},  # scrna defines it too: scrna's own wins
    }}
    schemas = _schemas_with_common(tmp_path, common)
    card = load_card(write(tmp_path, GOOD), schemas)
    assert card.params["split"] == {"method": "random", "seed": 0}
    assert card.params["min_genes"] == 200
    with pytest.raises(CardError, match=r"params\.split: 3 is not of type 'object'"):
        load_card(write(tmp_path, {**GOOD, "params": {"split": 3}}), schemas)
    for modality in ("scrna", "bulk", "dna", "variants"):
        params = modality_schema(modality, schemas)["properties"]["params"]["properties"]
        assert params["split"]["default"] == {"method": "random", "seed": 0}
    # the parsed modality schema itself is not modified by the merge
    assert "split" not in load_schema("modality/scrna.schema.yaml", schemas)["properties"]["params"]["properties"]


def test_without_common_params_file_the_modality_schema_is_as_written(tmp_path: Path) -> None:
    schemas = _schemas_with_common(tmp_path, None)
    assert modality_schema("bulk", schemas) == load_schema("modality/bulk.schema.yaml", schemas)
    with pytest.raises(CardError, match=r"params: Additional properties are not allowed \('split'"):
        load_card(write(tmp_path, {**GOOD, "params": {"split": {}}}), schemas)


def test_non_utf8_card_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("dataset_id: x\nname: caf\xe9\n".encode("latin-1"))
    with pytest.raises(CardError, match=r"latin1\.yaml: not UTF-8 text"):
        load_card(path)
