"""Dataset cards: schema validation, defaults, one-line errors, discovery."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from genoprep.cards import CardError, discover_cards, load_card, load_cards

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
