"""The bulk chain on a tiny table: card schema and defaults, metadata, labels, artifacts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from genoprep.bulk import steps
from genoprep.cards import CardError, load_card
from genoprep.errors import InputError
from genoprep.ml_files import write_ml_files

# 4 samples x 4 genes; library sizes 1000, 2000, 1000, 4000
TABLE = ("gene_id,symbol,s1,s2,s3,s4\n"
         "ENSG00000000001,AAA,500,1000,500,2000\n"
         "ENSG00000000002,BBB,499,996,499,1996\n"
         "ENSG00000000003,CCC,1,4,1,4\n"
         "ENSG00000000004,DDD,0,0,0,0\n")
# R write.csv style: the id column has no name; one extra row
METADATA = '"condition","sex"\n"s1","ctrl","F"\n"s2","ctrl","M"\n"s3","treated","F"\n"s4","treated",NA\n"s9","x","F"\n'


def card(tmp_path: Path, **overrides) -> dict:
    (tmp_path / "t.csv").write_text(TABLE)
    (tmp_path / "meta.csv").write_text(METADATA)
    data = {"dataset_id": "tiny", "name": "tiny", "modality": "bulk",
            "input": {"path": "t.csv", "format": "csv", "annotation_columns": ["symbol"],
                      "gene_symbol_column": "symbol"},
            "metadata": {"path": "meta.csv", "format": "csv"},
            "columns": {"condition": "condition", "sex": "sex"}}
    data.update(overrides)
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_card(path).data


def test_schema_defaults_are_filled(tmp_path: Path) -> None:
    data = card(tmp_path)
    assert data["input"]["value_type"] == "counts" and data["input"]["orientation"] == "genes_x_samples"
    assert data["input"]["duplicate_genes"] == "refuse"
    common = ("split", "leakage", "tasks", "augment")  # common_params.schema.yaml, merged into every modality
    assert {k: v for k, v in data["params"].items() if k not in common} == {"cpm": True, "min_mean_log": 1.0, "min_fraction_expressed": 0,
                              "expressed_threshold": 0, "zscore": True, "library_size_mads": 3,
                              "correlation_mads": 3}


@pytest.mark.parametrize(("change", "field"), [
    ({"input": {"path": "t.csv", "format": "csv", "value_type": "cpm"}}, "input.value_type"),
    ({"input": {"path": "t.csv", "format": "csv", "orientation": "samples_x_genes", "gene_id_column": 0}}, "input"),
    ({"columns": {"library_size": "condition"}}, "columns"),
    ({"params": {"min_fraction_expressed": 2}}, "params.min_fraction_expressed"),
    ({"params": {"unknown": 1}}, "params"),
])
def test_schema_refuses_bad_cards(tmp_path: Path, change: dict, field: str) -> None:
    with pytest.raises(CardError) as err:
        card(tmp_path, **change)
    assert f"tiny.yaml: {field}:" in str(err.value)


def run_chain(tmp_path: Path, data: dict):
    adata = steps.ingest(tmp_path / "t.csv", data, tmp_path / "meta.csv")
    adata = steps.normalize_step(adata, data["params"], source="tiny")
    adata, report = steps.qc_step(adata, data["params"])
    adata, matrix, features = steps.export_step(adata, data["params"])
    return adata, report, matrix, features


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
    facts = steps.facts(adata, data["params"], len(features))
    assert facts["n_samples"] == 4 and facts["n_features"] == 3 and facts["n_genes_input"] == 4
    json.dumps(facts)


def test_artifact_files(tmp_path: Path) -> None:
    adata, _, matrix, features = run_chain(tmp_path, card(tmp_path))
    out = tmp_path / "out"
    out.mkdir()
    write_ml_files(matrix, features, steps.obs_table(adata), out / "X.npy", out / "features.tsv",
                         out / "obs.tsv")
    assert np.load(out / "X.npy").dtype == np.float32
    assert (out / "features.tsv").read_text().splitlines() == features
    obs = pd.read_csv(out / "obs.tsv", sep="\t", keep_default_na=False)
    assert list(obs["sample_id"]) == ["s1", "s2", "s3", "s4"]
    adata.write_h5ad(out / "processed.h5ad")


def test_without_a_mapping_every_metadata_column_is_a_label(tmp_path: Path) -> None:
    data = card(tmp_path)
    del data["columns"]
    adata = steps.ingest(tmp_path / "t.csv", data, tmp_path / "meta.csv")
    assert list(adata.uns["genoprep"]["labels"]) == ["condition", "sex"]


def test_missing_metadata_and_unknown_label_columns_are_refused(tmp_path: Path) -> None:
    data = card(tmp_path, columns={"donor_id": "donor"})
    with pytest.raises(InputError, match=r"columns.donor_id names column 'donor', which is not in the sample "
                                         r"metadata \(available: condition, sex\)"):
        steps.ingest(tmp_path / "t.csv", data, tmp_path / "meta.csv")
    data = card(tmp_path)
    (tmp_path / "meta.csv").write_text('"condition"\n"s1","a"\n"s2","b"\n')
    with pytest.raises(InputError, match=r"meta.csv: no metadata row for 2 of 4 samples \(e.g. s3, s4\)"):
        steps.ingest(tmp_path / "t.csv", data, tmp_path / "meta.csv")


def test_no_gene_passing_the_filter_is_refused(tmp_path: Path) -> None:
    data = card(tmp_path, params={"min_mean_log": 50})
    adata = steps.ingest(tmp_path / "t.csv", data, tmp_path / "meta.csv")
    with pytest.raises(InputError, match=r"tiny: params: no genes pass the expression filter"):
        steps.normalize_step(adata, data["params"], source="tiny")


def test_zero_library_size_is_refused_for_cpm(tmp_path: Path) -> None:
    data = card(tmp_path)
    adata = steps.ingest(tmp_path / "t.csv", data, tmp_path / "meta.csv")
    adata.X[1, :] = 0
    with pytest.raises(InputError, match=r"tiny: sample s2: library size is 0"):
        steps.normalize_step(adata, data["params"], source="tiny")
