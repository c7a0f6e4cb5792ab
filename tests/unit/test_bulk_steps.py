"""The bulk chain on a tiny table: card schema and defaults, metadata, labels, artifacts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from genoprep.bulk import steps
from genoprep.bulk.options import ExportOptions, IngestOptions, NormalizeOptions
from genoprep.cards import CardError, load_card
from genoprep.errors import InputError
from genoprep.ml_files import write_ml_files
from genoprep.splits import SplitOptions

# 4 samples x 4 genes; library sizes 1000, 2000, 1000, 4000
TABLE = (
    "gene_id,symbol,s1,s2,s3,s4\n"
    "ENSG00000000001,AAA,500,1000,500,2000\n"
    "ENSG00000000002,BBB,499,996,499,1996\n"
    "ENSG00000000003,CCC,1,4,1,4\n"
    "ENSG00000000004,DDD,0,0,0,0\n"
)
# R write.csv style: the id column has no name; one extra row
METADATA = '"condition","sex"\n"s1","ctrl","F"\n"s2","ctrl","M"\n"s3","treated","F"\n"s4","treated",NA\n"s9","x","F"\n'


def card(tmp_path: Path, **overrides) -> dict:
    (tmp_path / "t.csv").write_text(TABLE)
    (tmp_path / "meta.csv").write_text(METADATA)
    data = {
        "dataset_id": "tiny",
        "name": "tiny",
        "modality": "bulk",
        "input": {"path": "t.csv", "format": "csv", "annotation_columns": ["symbol"], "gene_symbol_column": "symbol"},
        "metadata": {"path": "meta.csv", "format": "csv"},
        "columns": {"condition": "condition", "sex": "sex"},
    }
    data.update(overrides)
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_card(path).data


def test_schema_defaults_are_filled(tmp_path: Path) -> None:
    data = card(tmp_path)
    assert data["input"]["value_type"] == "counts" and data["input"]["orientation"] == "genes_x_samples"
    assert data["input"]["duplicate_genes"] == "refuse"
    bulk_params = {
        "cpm": True,
        "min_mean_log": 1.0,
        "min_fraction_expressed": 0,
        "expressed_threshold": 0,
        "min_fraction_kept": 0.05,
        "zscore": True,
        "library_size_mads": 3,
        "correlation_mads": 3,
    }
    assert {name: data["params"][name] for name in bulk_params} == bulk_params


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"input": {"path": "t.csv", "format": "csv", "value_type": "cpm"}}, "input.value_type"),
        ({"input": {"path": "t.csv", "format": "csv", "orientation": "samples_x_genes", "gene_id_column": 0}}, "input"),
        ({"columns": {"library_size": "condition"}}, "columns"),
        ({"params": {"min_fraction_expressed": 2}}, "params.min_fraction_expressed"),
        ({"params": {"unknown": 1}}, "params"),
    ],
)
def test_schema_refuses_bad_cards(tmp_path: Path, change: dict, field: str) -> None:
    with pytest.raises(CardError) as err:
        card(tmp_path, **change)
    assert f"tiny.yaml: {field}:" in str(err.value)


def ingest(tmp_path: Path, data: dict):
    return steps.ingest(IngestOptions.from_card(data), tmp_path / "t.csv", tmp_path / "meta.csv")


def normalize(adata, data: dict):
    return steps.normalize(adata, NormalizeOptions.from_card(data))


def run_chain(tmp_path: Path, data: dict):
    result = steps.export(
        normalize(ingest(tmp_path, data), data), ExportOptions.from_card(data), SplitOptions.from_card(data), "report"
    )
    return result.adata, result.qc, result.matrix, result.features


def test_chain_on_a_tiny_table(tmp_path: Path) -> None:
    data = card(tmp_path)
    adata, report, matrix, features = run_chain(tmp_path, data)
    # CPM: gene 1 is 500000 in every sample, gene 2 499000/498000/..., gene 3 1000/2000/1000/1000; gene 4 is 0
    assert features == ["ENSG00000000001", "ENSG00000000002", "ENSG00000000003"]
    np.testing.assert_allclose(adata.layers["log"][:, 2], np.log1p([1000.0, 2000.0, 1000.0, 1000.0]))
    np.testing.assert_array_equal(adata.layers["raw"][:, 2], [1, 4, 1, 4])
    np.testing.assert_array_equal(matrix[:, 0], 0.0)  # constant after CPM
    expected = (adata.layers["log"][:, 2] - adata.layers["log"][:, 2].mean()) / adata.layers["log"][:, 2].std()
    np.testing.assert_allclose(matrix[:, 2], expected, rtol=1e-6)
    assert list(adata.var["gene_symbols"]) == ["AAA", "BBB", "CCC"]
    assert list(adata.obs["condition"]) == ["ctrl", "ctrl", "treated", "treated"]
    assert list(adata.obs["sex"]) == ["F", "M", "F", "NA"]
    np.testing.assert_array_equal(adata.obs["library_size"], [1000, 2000, 1000, 4000])
    np.testing.assert_array_equal(adata.obs["n_genes_detected"], [3, 3, 3, 3])
    assert report["metadata_ids_unmatched"] == ["s9"] and report["genes_input"] == 4
    assert [f["filter"] for f in report["gene_filters"]] == ["min_mean_log", "min_fraction_expressed"]
    assert report["gene_filters"][0]["genes_after"] == 3

    obs = steps.obs_table(adata)
    assert list(obs.columns) == ["sample_id", "condition", "sex", *steps.QC_OBS]
    facts = steps.facts(adata, ExportOptions.from_card(data), len(features))
    assert facts["n_samples"] == 4 and facts["n_features"] == 3 and facts["n_genes_input"] == 4
    json.dumps(facts)


def test_zscores_are_fitted_on_the_train_samples_only(tmp_path: Path) -> None:
    fractions = {"train": 0.5, "val": 0, "test": 0.5}
    data = card(tmp_path, params={"split": {"enabled": True, "stratify_by": "condition", "fractions": fractions}})
    adata = normalize(ingest(tmp_path, data), data)
    result = steps.export(adata, ExportOptions.from_card(data), SplitOptions.from_card(data), "report")
    splits = result.obs["split"].to_numpy()
    # stratified by condition (ctrl: s1, s2; treated: s3, s4): one train and one test sample each
    assert sorted(splits[:2]) == sorted(splits[2:]) == ["test", "train"]
    assert list(result.adata.obs["split"]) == list(splits)
    assert result.qc["splits"]["n"] == result.facts["splits"] == {"train": 2, "val": 0, "test": 2}
    assert result.qc["leakage"]["checks"][0]["what"] == "identical samples"
    train = splits == "train"
    log = result.adata.layers["log"]
    mean, std = log[train].mean(axis=0), log[train].std(axis=0)
    std[std == 0] = 1
    np.testing.assert_allclose(result.matrix, (log - mean) / std, rtol=1e-6, atol=1e-6)
    # the statistics of all samples would give other values: the test samples were not fitted
    assert np.abs(result.matrix[:, 2] - (log[:, 2] - log[:, 2].mean()) / log[:, 2].std()).max() > 0.1
    assert "train samples only" in result.facts["preprocessing"]["scaling"]


def test_artifact_files(tmp_path: Path) -> None:
    adata, _, matrix, features = run_chain(tmp_path, card(tmp_path))
    out = tmp_path / "out"
    out.mkdir()
    write_ml_files(matrix, features, steps.obs_table(adata), out / "X.npy", out / "features.tsv", out / "obs.tsv")
    assert np.load(out / "X.npy").dtype == np.float32
    assert (out / "features.tsv").read_text().splitlines() == features
    obs = pd.read_csv(out / "obs.tsv", sep="\t", keep_default_na=False)
    assert list(obs["sample_id"]) == ["s1", "s2", "s3", "s4"]
    adata.write_h5ad(out / "processed.h5ad")


def test_without_a_mapping_every_metadata_column_is_a_label(tmp_path: Path) -> None:
    data = card(tmp_path)
    data["columns"] = {}
    adata = ingest(tmp_path, data)
    assert list(adata.uns["genoprep"]["labels"]) == ["condition", "sex"]


def test_missing_metadata_and_unknown_label_columns_are_refused(tmp_path: Path) -> None:
    data = card(tmp_path, columns={"donor_id": "donor"})
    with pytest.raises(
        InputError,
        match=r"columns.donor_id names column .donor., which is not there "
        r"\(available: condition, sex\)",
    ):
        ingest(tmp_path, data)
    data = card(tmp_path)
    (tmp_path / "meta.csv").write_text('"condition"\n"s1","a"\n"s2","b"\n')
    with pytest.raises(InputError, match=r"meta.csv: no metadata row for 2 of 4 samples \(e.g. s3, s4\)"):
        ingest(tmp_path, data)


def test_metadata_unmatched_na_keeps_samples_with_na_labels(tmp_path: Path) -> None:
    data = card(tmp_path, metadata={"path": "meta.csv", "format": "csv", "unmatched": "na"})
    (tmp_path / "meta.csv").write_text('"condition","sex"\n"s1","a","F"\n"s3","b","M"\n')
    adata, report, _, _ = run_chain(tmp_path, data)
    assert list(adata.obs["condition"]) == ["a", "NA", "b", "NA"] and list(adata.obs["sex"]) == ["F", "NA", "M", "NA"]
    assert report["samples_without_metadata"] == ["s2", "s4"]


def test_no_gene_passing_the_filter_is_refused(tmp_path: Path) -> None:
    data = card(tmp_path, params={"min_mean_log": 50, "min_fraction_kept": 0})
    with pytest.raises(InputError, match=r"t.csv: params: no genes pass the expression filter"):
        normalize(ingest(tmp_path, data), data)


def test_the_guard_names_the_filter_and_the_genes_distribution(tmp_path: Path, capsys) -> None:
    # CPM log expression of the 4 genes: mean 13.12, 13.12, 7.08 and 0 -> min_mean_log 10 keeps 2 of 4
    data = card(tmp_path, params={"min_mean_log": 10, "min_fraction_kept": 0.6})
    with pytest.raises(InputError) as err:
        normalize(ingest(tmp_path, data), data)
    message = str(err.value)
    assert message.startswith(
        f"{tmp_path / 't.csv'}: filters: the filters kept 2 of 4 genes (50.0%, below params.min_fraction_kept 0.6)"
    )
    assert "min_mean_log (mean log expression over samples > 10) removed the most: 2 of 4" in message
    log_cpm = np.log1p(
        np.array([[500, 499, 1, 0], [1000, 996, 4, 0], [500, 499, 1, 0], [2000, 1996, 4, 0]])
        / np.array([[1000], [2000], [1000], [4000]])
        * 1e6
    )
    assert f"median {np.median(log_cpm.mean(axis=0)):.4g}" in message
    assert "genoprep: tiny: kept 2 of 4 genes (min_mean_log -2)" in capsys.readouterr().err
    data = card(tmp_path, params={"min_mean_log": 10, "min_fraction_kept": 0.5})  # exactly at the guard: kept
    assert normalize(ingest(tmp_path, data), data).n_vars == 2


def test_zero_library_size_is_refused_for_cpm(tmp_path: Path) -> None:
    data = card(tmp_path)
    adata = ingest(tmp_path, data)
    adata.X[1, :] = 0
    with pytest.raises(InputError, match=r"t.csv: sample s2: library size is 0"):
        normalize(adata, data)
