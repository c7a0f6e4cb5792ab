"""croissant.json of a hand-made folder: validated and loaded with mlcroissant, linked data read with rdflib."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import mlcroissant as mlc
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import rdflib
import yaml

from genoprep.fair.croissant import croissant_metadata, license_url
from genoprep.jsonio import write_json

# rdflib's JSON-LD parser (used by mlcroissant and here) warns about its own internals
pytestmark = pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")

# a small hand-made finished dataset folder (digests computed here with hashlib); test_hfcard uses it too
OBS = pd.DataFrame(
    {
        "cell_id": ["c1", "c2"],
        "cell_type": ["B cell", "T cell"],
        "n_genes": [210, 305],
        "percent_mito": [1.5, 0.25],
        "qc_outlier": [False, True],
    }
)
FEATURES = ["CD19", "CD3E", "MT-CO1"]
TOKENS = {
    "id": ["s1", "s2", "s3"],
    "label": ["promoter", "other", "promoter"],
    "input_ids": [[2, 7, 9, 3], [2, 5, 3], [2, 8, 8, 8, 3]],
}


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_folder(folder: Path, *, token_files: dict[str, slice] | None = None, card_extra: dict | None = None) -> dict:
    """Write obs.tsv, features.tsv, X.npy, qc.json, token parquet file(s) and card.yaml; return the card."""
    folder.mkdir(parents=True)
    OBS.to_csv(folder / "obs.tsv", sep="\t", index=False)
    (folder / "features.tsv").write_text("".join(f"{g}\n" for g in FEATURES))
    np.save(folder / "X.npy", np.arange(6, dtype=np.float32).reshape(2, 3))
    (folder / "qc.json").write_text('{"n_cells_before": 3}\n')
    for name, rows in (token_files or {}).items():
        schema = pa.schema(
            [("id", pa.string()), ("label", pa.string()), ("input_ids", pa.list_(pa.int32()))],
            metadata={
                "genoprep.scheme": "geneformer",
                "genoprep.parameters": '{"dictionary_sha256": "abc", "max_len": 2048}',
            },
        )
        table = pa.table({k: v[rows] for k, v in TOKENS.items()}, schema=schema)
        pq.write_table(table, folder / name)
    names = ["obs.tsv", "features.tsv", "X.npy", "qc.json", *(token_files or {})]
    card = {
        "dataset_id": "tiny",
        "name": "Tiny hand-made set",
        "modality": "scrna",
        "description": "Two cells,\n three genes.",
        "license": "CC-BY-4.0",
        "organism": "Homo sapiens",
        "input": {"path": "/data/tiny.h5ad", "format": "h5ad", "sha256": "a" * 64},
        "citation": "Doe et al. 2024",
        **(card_extra or {}),
    }
    card["computed"] = {**card.get("computed", {}), "artifacts_sha256": {n: sha(folder / n) for n in sorted(names)}}
    (folder / "card.yaml").write_text(yaml.safe_dump(card, sort_keys=False))
    return card


EXTRA = {
    "params": {"reference_build": "GRCh38"},
    "computed": {
        "split": {"method": "stratified by label", "seed": 0},
        "tokenizers": {"dnabert": {"k": 6, "vocab_size": 4101}},
        "preprocessing": {"software": {"genoprep": "0.1.0"}, "normalization": "log1p"},
    },
}


@pytest.fixture
def written(tmp_path: Path) -> tuple[Path, dict]:
    folder = tmp_path / "tiny"
    card = make_folder(folder, token_files={"tokens_dnabert.parquet": slice(None)}, card_extra=EXTRA)
    metadata = croissant_metadata(folder, card, card["computed"]["artifacts_sha256"])
    write_json(metadata, folder / "croissant.json")
    return folder, metadata


def decode(value: object) -> object:
    return value.decode() if isinstance(value, bytes) else value


def test_mlcroissant_validates_it_and_loads_every_table(written: tuple[Path, dict]) -> None:
    folder, _ = written
    dataset = mlc.Dataset(jsonld=folder / "croissant.json")
    issues = dataset.metadata.ctx.issues
    assert not issues.errors
    # no datePublished (the file must not depend on the time) and no dataset version in a card
    assert {w.split("Property ")[1].split(" ")[0] for w in issues.warnings} == {
        '"https://schema.org/datePublished"',
        '"https://schema.org/version"',
    }

    obs = [{k.split("/")[1]: decode(v) for k, v in r.items()} for r in dataset.records("obs")]
    assert obs == OBS.to_dict("records")
    assert [decode(r["features/feature_id"]) for r in dataset.records("features")] == FEATURES
    tokens = list(dataset.records("tokens_dnabert"))
    assert [list(r["tokens_dnabert/input_ids"]) for r in tokens] == TOKENS["input_ids"]
    assert [decode(r["tokens_dnabert/label"]) for r in tokens] == TOKENS["label"]


def test_every_artifact_and_the_card_are_file_objects_with_their_sha256(written: tuple[Path, dict]) -> None:
    folder, metadata = written
    files = {node["@id"]: node for node in metadata["distribution"]}
    assert set(files) == {"obs.tsv", "features.tsv", "X.npy", "qc.json", "tokens_dnabert.parquet", "card.yaml"}
    for name, node in files.items():
        assert node["@type"] == "cr:FileObject" and node["contentUrl"] == name
        assert node["sha256"] == sha(folder / name)
        assert node["contentSize"] == f"{(folder / name).stat().st_size} B"
    assert files["obs.tsv"]["encodingFormat"] == "text/tab-separated-values"
    assert files["tokens_dnabert.parquet"]["encodingFormat"] == "application/x-parquet"
    matrix = files["X.npy"]
    assert (matrix["genoprep:shape"], matrix["genoprep:dtype"]) == ([2, 3], "float32")
    assert matrix["genoprep:rows"] == {"@id": "obs"} and matrix["genoprep:columns"] == {"@id": "features"}
    assert files["tokens_dnabert.parquet"]["genoprep:tableMetadata"] == {
        "scheme": "geneformer",
        "parameters": {"dictionary_sha256": "abc", "max_len": 2048},
    }
    types = {f["name"]: f["dataType"] for rs in metadata["recordSet"] if rs["@id"] == "obs" for f in rs["field"]}
    assert types == {
        "cell_id": "sc:Text",
        "cell_type": "sc:Text",
        "n_genes": "sc:Integer",
        "percent_mito": "sc:Float",
        "qc_outlier": "sc:Boolean",
    }


def test_card_provenance_is_linked_data(written: tuple[Path, dict]) -> None:
    folder, metadata = written
    assert metadata["license"] == "https://spdx.org/licenses/CC-BY-4.0.html"
    assert metadata["citeAs"] == "Doe et al. 2024"
    assert metadata["description"] == "Two cells, three genes."
    graph = rdflib.Graph().parse(data=(folder / "croissant.json").read_text(), format="json-ld")
    [dataset] = graph.subjects(rdflib.RDF.type, rdflib.URIRef("https://schema.org/Dataset"))

    def value(name: str) -> object:
        return graph.value(dataset, rdflib.URIRef(f"urn:genoprep:{name}")).toPython()

    assert value("referenceBuild") == "GRCh38"
    assert value("organism") == "Homo sapiens"
    assert json.loads(value("splitMethod")) == {"method": "stratified by label", "seed": 0}
    assert json.loads(value("tokenizers")) == {"dnabert": {"k": 6, "vocab_size": 4101}}
    assert json.loads(value("software")) == {"genoprep": "0.1.0"}
    assert json.loads(value("inputs")) == [{"path": "/data/tiny.h5ad", "format": "h5ad", "sha256": "a" * 64}]


def test_token_tables_carry_their_scheme_when_the_card_does_not(tmp_path: Path) -> None:
    folder = tmp_path / "tiny"
    card = make_folder(folder, token_files={"tokens_dnabert.parquet": slice(None)})
    metadata = croissant_metadata(folder, card, card["computed"]["artifacts_sha256"])
    assert metadata["genoprep:tokenizers"] == {
        "tokens_dnabert.parquet": {"scheme": "geneformer", "parameters": {"dictionary_sha256": "abc", "max_len": 2048}}
    }


def test_same_folder_gives_the_same_metadata(written: tuple[Path, dict], tmp_path: Path) -> None:
    _, metadata = written
    card = make_folder(
        tmp_path / "copy" / "tiny", token_files={"tokens_dnabert.parquet": slice(None)}, card_extra=EXTRA
    )
    assert croissant_metadata(tmp_path / "copy" / "tiny", card, card["computed"]["artifacts_sha256"]) == metadata


@pytest.mark.parametrize(
    ("text", "expected"),
    [("MIT", "https://spdx.org/licenses/MIT.html"), ("see the paper's terms", "see the paper's terms")],
)
def test_license_url(text: str, expected: str) -> None:
    assert license_url(text) == expected
