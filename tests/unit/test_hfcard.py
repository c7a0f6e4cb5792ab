"""README.md (Hugging Face dataset card) of hand-made folders, loaded with datasets.load_dataset."""

from __future__ import annotations

from pathlib import Path

import datasets
import pytest
import yaml

from genoprep.fair.hfcard import hf_card, hub_license, size_category
from tests.unit.test_croissant import OBS, TOKENS, make_folder


def write_card(folder: Path, card: dict) -> dict:
    text = hf_card(folder, card, card["computed"]["artifacts_sha256"])
    (folder / "README.md").write_text(text, encoding="utf-8")
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def load(folder: Path, config: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> datasets.DatasetDict:
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    return datasets.load_dataset(str(folder), config, cache_dir=str(tmp_path / "hf-cache"))


def test_split_parquet_files_form_one_config_with_their_splits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "tiny"
    card = make_folder(folder, token_files={"tokens_train.parquet": slice(0, 2), "tokens_test.parquet": slice(2, 3)})
    header = write_card(folder, card)
    assert header["configs"] == [
        {
            "config_name": "tokens",
            "default": True,
            "data_files": [
                {"split": "test", "path": "tokens_test.parquet"},
                {"split": "train", "path": "tokens_train.parquet"},
            ],
        }
    ]
    assert (header["license"], header["pretty_name"]) == ("cc-by-4.0", "Tiny hand-made set")
    assert header["size_categories"] == ["n<1K"] and header["task_categories"] == ["tabular-classification"]
    loaded = load(folder, "tokens", tmp_path, monkeypatch)
    assert loaded["train"]["input_ids"] == TOKENS["input_ids"][:2]
    assert loaded["test"]["input_ids"] == TOKENS["input_ids"][2:]
    assert loaded["test"]["label"] == TOKENS["label"][2:]


def test_tsv_tables_load_with_their_types(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "tiny"
    header = write_card(folder, make_folder(folder))
    assert header["configs"] == [
        {"config_name": "obs", "default": True, "data_files": [{"split": "train", "path": "obs.tsv"}], "sep": "\t"}
    ]
    loaded = load(folder, "obs", tmp_path, monkeypatch)["train"]
    assert loaded.to_pandas().to_dict("records") == OBS.to_dict("records")


def test_body_lists_every_file_with_its_checksum(tmp_path: Path) -> None:
    folder = tmp_path / "tiny"
    card = make_folder(folder, token_files={"tokens_dnabert.parquet": slice(None)})
    write_card(folder, card)
    text = (folder / "README.md").read_text()
    for name, digest in card["computed"]["artifacts_sha256"].items():
        assert f"| `{name}` |" in text and digest in text
    assert "| `X.npy` | array 2×3 float32; rows: `obs.tsv`; columns: `features.tsv` |" in text
    assert 'tokens_dnabert = load_dataset("path/to/tiny", "tokens_dnabert")' in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CC-BY-4.0", {"license": "cc-by-4.0"}),
        ("MIT", {"license": "mit"}),
        (None, {"license": "unknown"}),
        ("Academic use only (see paper)", {"license": "other", "license_name": "academic-use-only-see-paper"}),
    ],
)
def test_hub_license(text: str | None, expected: dict) -> None:
    assert hub_license(text) == expected


@pytest.mark.parametrize(("n", "label"), [(0, "n<1K"), (999, "n<1K"), (1000, "1K<n<10K"), (68_579, "10K<n<100K")])
def test_size_category(n: int, label: str) -> None:
    assert size_category(n) == label
