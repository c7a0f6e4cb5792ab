"""Bulk RNA-seq end to end on the real tables in ../shared/data/bulk, against pandas/numpy.

The workflow runs once (through the invocation contract, ``--keep-going``) on cards for
the three real tables and for tables derived from them here (a gzipped samples x genes
TPM table, a log table, and inputs that must be refused; summing duplicate genes is
covered by the unit tests). Each result is compared with an independent computation of
the same steps: pandas reads the table, numpy does CPM/log1p and the filter,
scikit-learn's StandardScaler the z-score.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.preprocessing import StandardScaler

from tests.conftest import SHARED_DATA, artifact_bytes, leftovers, run_workflow, shared_data, write_card

pytestmark = pytest.mark.e2e

BULK = SHARED_DATA / "bulk"
GSE_COUNTS = BULK / "gse96870_mouse_cerebellum_counts_genes_x_22samples.csv"
GSE_META = BULK / "gse96870_mouse_cerebellum_sample_metadata.csv"
MOV10_COUNTS = BULK / "mov10_human_hek293_counts_genes_x_8samples.tsv"
MOV10_META = BULK / "mov10_human_hek293_sample_metadata.tsv"
RPKM = BULK / "mouse_12samples_rpkm_genes_x_samples.csv"
RPKM_META = BULK / "mouse_12samples_rpkm_sample_metadata.csv"
ARTIFACTS = {"processed.h5ad", "X.npy", "features.tsv", "obs.tsv", "qc.json"}
REFUSED = ("fractional_counts", "duplicate_genes", "missing_metadata", "ragged_row", "strict_filter")


def _card(dataset_id: str, input_: dict, metadata: dict | None = None, **extra) -> dict:
    card = {"dataset_id": dataset_id, "name": dataset_id, "modality": "bulk", "input": input_}
    if metadata:
        card["metadata"] = metadata
    card.update(extra)
    return card


def _derived_inputs(folder: Path) -> dict[str, Path]:
    """Tables derived from the real ones, for the cases the three files do not cover."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    # TPM of the RPKM table (RPKM / column sum x 1e6), the first 6000 genes only, so that a
    # sample's TPM no longer sums to 1e6 (CPM would change it); samples x genes, gzipped.
    rpkm = pd.read_csv(RPKM, index_col=0)
    tpm = (rpkm / rpkm.sum(axis=0) * 1e6).iloc[:6000]
    tpm.T.rename_axis("sample").to_csv(folder / "tpm_samples_x_genes.tsv.gz", sep="\t")
    paths["tpm"] = folder / "tpm_samples_x_genes.tsv.gz"
    meta = pd.read_csv(RPKM_META, index_col=0)
    meta.loc["sample99"] = ["Wt", "typeA", 9]  # a metadata row for no sample: reported, not an error
    meta.to_csv(folder / "tpm_metadata.csv")
    paths["tpm_meta"] = folder / "tpm_metadata.csv"
    # log1p(CPM) of the GSE96870 counts: a log table (must not be logged again)
    counts = pd.read_csv(GSE_COUNTS, index_col=0)
    log_cpm = np.log1p(counts / counts.sum(axis=0) * 1e6)
    log_cpm.to_csv(folder / "gse96870_log1p_cpm.csv")
    paths["log"] = folder / "gse96870_log1p_cpm.csv"
    # MOV10 with its first three genes repeated (values x2 and x3 for two of them)
    mov = pd.read_csv(MOV10_COUNTS, sep="\t")
    extra = mov.iloc[[0, 1, 1]].copy()
    extra.iloc[:, 1:] = extra.iloc[:, 1:].to_numpy() * np.array([[2], [3], [1]])
    pd.concat([mov, extra]).to_csv(folder / "mov10_duplicates.tsv", sep="\t", index=False)
    paths["duplicates"] = folder / "mov10_duplicates.tsv"
    # MOV10 with one fractional count
    broken = mov.copy()
    broken.loc[4, "Mov10_oe_2"] = 12.5
    broken.to_csv(folder / "mov10_fractional.tsv", sep="\t", index=False)
    paths["fractional"] = folder / "mov10_fractional.tsv"
    # GSE96870 metadata without two of the samples
    pd.read_csv(GSE_META).iloc[2:].to_csv(folder / "gse96870_meta_missing2.csv", index=False)
    paths["meta_missing"] = folder / "gse96870_meta_missing2.csv"
    # MOV10 with an extra field in one data row (line 7 of the file)
    lines = MOV10_COUNTS.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[6] = lines[6].rstrip("\n") + "\t7\n"
    (folder / "mov10_ragged.tsv").write_text("".join(lines), encoding="utf-8")
    paths["ragged"] = folder / "mov10_ragged.tsv"
    # the RPKM table as a spreadsheet saves it: UTF-8 byte-order mark and CRLF line ends
    text = RPKM.read_text(encoding="utf-8").replace("\r\n", "\n").replace("\n", "\r\n")
    (folder / "rpkm_bom_crlf.csv").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    paths["bom_crlf"] = folder / "rpkm_bom_crlf.csv"
    return paths


def _cards(derived: dict[str, Path]) -> dict[str, dict]:
    return {
        "gse96870": _card(
            "gse96870",
            {"path": str(GSE_COUNTS), "format": "csv"},
            {"path": str(GSE_META), "format": "csv"},
            columns={"condition": "infection", "sex": "sex", "time": "time", "donor_id": "mouse"},
            organism="Mus musculus",
        ),
        "mov10": _card(
            "mov10",
            {"path": str(MOV10_COUNTS), "format": "tsv", "gene_id_column": "GeneSymbol"},
            {"path": str(MOV10_META), "format": "tsv"},
            columns={"condition": "sampletype"},
            params={"min_fraction_expressed": 0.75},
        ),
        "rpkm12": _card(
            "rpkm12",
            {"path": str(RPKM), "format": "csv", "value_type": "rpkm"},
            {"path": str(RPKM_META), "format": "csv"},
        ),
        "tpm": _card(
            "tpm",
            {"path": str(derived["tpm"]), "format": "tsv", "orientation": "samples_x_genes", "value_type": "tpm"},
            {"path": str(derived["tpm_meta"]), "format": "csv"},
            columns={"genotype": "genotype", "celltype": "celltype"},
            params={"zscore": False},
        ),
        "log_table": _card("log_table", {"path": str(derived["log"]), "format": "csv", "value_type": "log"}),
        "duplicate_genes": _card("duplicate_genes", {"path": str(derived["duplicates"]), "format": "tsv"}),
        "fractional_counts": _card("fractional_counts", {"path": str(derived["fractional"]), "format": "tsv"}),
        "missing_metadata": _card(
            "missing_metadata",
            {"path": str(GSE_COUNTS), "format": "csv"},
            {"path": str(derived["meta_missing"]), "format": "csv"},
        ),
        "ragged_row": _card("ragged_row", {"path": str(derived["ragged"]), "format": "tsv"}),
        "strict_filter": _card("strict_filter", {"path": str(GSE_COUNTS), "format": "csv"}, params={"min_mean_log": 9}),
        "bom_crlf": _card(
            "bom_crlf",
            {"path": str(derived["bom_crlf"]), "format": "csv", "value_type": "rpkm"},
            {"path": str(RPKM_META), "format": "csv"},
        ),
    }


class BulkRun:
    def __init__(self, out: Path, cards: dict[str, dict], stderr: str, card_dir: Path) -> None:
        self.out, self.cards, self.stderr, self.card_dir = out, cards, stderr, card_dir


@pytest.fixture(scope="session")
def bulk_run(tmp_path_factory: pytest.TempPathFactory) -> BulkRun:
    shared_data("bulk")
    root = tmp_path_factory.mktemp("bulk_real")
    cards = _cards(_derived_inputs(root / "inputs"))
    for card in cards.values():
        write_card(root / "cards", card)
    done = run_workflow(root / "cards", root / "out", "--keep-going", check=False)
    assert done.returncode != 0, "the refused inputs must fail their jobs"
    return BulkRun(root / "out", cards, done.stderr, root / "cards")


# ---- independent reference: pandas reads, numpy computes, scikit-learn scales ----


def _reference(values: pd.DataFrame, value_type: str, params: dict) -> dict:
    """``values`` is samples x genes as pandas read it."""
    p = {"cpm": True, "min_mean_log": 1.0, "min_fraction_expressed": 0.0, "zscore": True, **params}
    raw = values.astype(float)
    if value_type == "counts" and p["cpm"]:
        log = np.log1p(raw.div(raw.sum(axis=1), axis=0) * 1e6)
    elif value_type == "log":
        log = raw
    else:
        log = np.log1p(raw)
    keep = (log.mean(axis=0) > p["min_mean_log"]) & ((log > 0).mean(axis=0) >= p["min_fraction_expressed"])
    kept = log.loc[:, keep]
    x = StandardScaler().fit_transform(kept.to_numpy()) if p["zscore"] else kept.to_numpy()
    return {"raw": raw.loc[:, keep], "log": kept, "X": x, "genes": list(kept.columns), "library_size": raw.sum(axis=1)}


def _reference_of(name: str, cards: dict[str, dict]) -> dict:
    card = cards[name]
    path = Path(card["input"]["path"])
    if name == "gse96870":
        values = pd.read_csv(path, index_col=0).T
    elif name == "mov10":
        values = pd.read_csv(path, sep="\t", index_col="GeneSymbol").T
    elif name == "rpkm12":
        values = pd.read_csv(path, index_col=0).T  # pandas reads the short header as an unnamed index
    elif name == "tpm":
        values = pd.read_csv(path, sep="\t", index_col=0)
    elif name == "log_table":
        values = pd.read_csv(path, index_col=0).T
    else:
        raise KeyError(name)
    values.index = values.index.astype(str)
    return _reference(values, card["input"].get("value_type", "counts"), card.get("params", {}))


PROCESSED = ("gse96870", "mov10", "rpkm12", "tpm", "log_table")


@pytest.mark.parametrize("name", PROCESSED)
def test_matches_pandas_numpy_sklearn(bulk_run: BulkRun, name: str) -> None:
    out = bulk_run.out / name
    assert (out / "card.yaml").exists(), bulk_run.stderr[-3000:]
    ref = _reference_of(name, bulk_run.cards)
    processed = ad.read_h5ad(out / "processed.h5ad")
    features = (out / "features.tsv").read_text().splitlines()
    matrix = np.load(out / "X.npy")

    assert 0 < len(ref["genes"]) < processed.uns["genoprep"]["n_genes_input"]
    assert features == ref["genes"] == list(processed.var_names)
    assert list(processed.obs_names) == list(ref["log"].index)
    np.testing.assert_array_equal(processed.layers["raw"], ref["raw"].to_numpy())
    np.testing.assert_allclose(processed.layers["log"], ref["log"].to_numpy(), rtol=1e-12, atol=1e-12)
    assert matrix.dtype == np.float32 and matrix.shape == (len(ref["log"]), len(features))
    np.testing.assert_allclose(matrix, ref["X"], rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(processed.X, matrix)

    qc = json.loads((out / "qc.json").read_text())
    sizes = [s["library_size"] for s in qc["per_sample"]]
    np.testing.assert_allclose(sizes, ref["library_size"].to_numpy(), rtol=1e-9)
    corr = np.corrcoef(ref["log"].to_numpy())
    np.testing.assert_allclose(np.array(qc["correlation"]["matrix"], dtype=float), corr, atol=2e-6)
    assert qc["genes_after_filters"] == len(features)


def test_labels_and_obs_table(bulk_run: BulkRun) -> None:
    obs = pd.read_csv(bulk_run.out / "gse96870" / "obs.tsv", sep="\t", dtype=str, keep_default_na=False)
    meta = pd.read_csv(GSE_META, dtype=str).set_index("sample")
    assert list(obs.columns[:5]) == ["sample_id", "condition", "sex", "time", "donor_id"]
    assert list(obs["condition"]) == list(meta.loc[obs["sample_id"], "infection"])
    assert list(obs["time"]) == list(meta.loc[obs["sample_id"], "time"])
    assert list(obs["donor_id"]) == list(meta.loc[obs["sample_id"], "mouse"])
    assert {"library_size", "n_genes_detected", "median_correlation", "qc_outlier"} <= set(obs.columns)
    # without a columns mapping every metadata column is a label (the RPKM metadata: short header)
    rpkm_obs = pd.read_csv(bulk_run.out / "rpkm12" / "obs.tsv", sep="\t", dtype=str)
    assert list(rpkm_obs.columns[:4]) == ["sample_id", "genotype", "celltype", "replicate"]
    assert rpkm_obs.set_index("sample_id").loc["sample7", "celltype"] == "typeB"
    processed = ad.read_h5ad(bulk_run.out / "mov10" / "processed.h5ad")
    assert {"sampletype", "MOVexpr", "condition"} <= set(processed.obs.columns)
    assert {"gene_ids", "gene_symbols", "mean_log", "fraction_expressed"} <= set(processed.var.columns)
    assert processed.var.loc["A1BG-AS1", "gene_symbols"] == "A1BG-AS1"
    rpkm = ad.read_h5ad(bulk_run.out / "rpkm12" / "processed.h5ad")
    assert rpkm.var["gene_ids"].str.startswith("ENSMUSG").all() and (rpkm.var["gene_symbols"] == "").all()


def test_tpm_gets_no_cpm_and_log_table_no_second_log(bulk_run: BulkRun) -> None:
    tpm = ad.read_h5ad(bulk_run.out / "tpm" / "processed.h5ad")
    np.testing.assert_allclose(tpm.layers["log"], np.log1p(tpm.layers["raw"]), rtol=1e-12)
    assert not np.allclose(tpm.layers["raw"].sum(axis=1), 1e6)  # CPM would have changed these values
    np.testing.assert_array_equal(np.load(bulk_run.out / "tpm" / "X.npy"), tpm.layers["log"].astype(np.float32))
    log_table = ad.read_h5ad(bulk_run.out / "log_table" / "processed.h5ad")
    np.testing.assert_array_equal(log_table.layers["log"], log_table.layers["raw"])
    # the log table is log1p(CPM) of GSE96870: same genes and z-scores as the counts run
    counts_run = ad.read_h5ad(bulk_run.out / "gse96870" / "processed.h5ad")
    assert list(log_table.var_names) == list(counts_run.var_names)
    np.testing.assert_allclose(log_table.X, counts_run.X, atol=1e-5)
    card = yaml.safe_load((bulk_run.out / "tpm" / "card.yaml").read_text())
    assert "no CPM" in card["computed"]["preprocessing"]["normalization"]
    assert card["computed"]["preprocessing"]["scaling"].startswith("none")


def test_metadata_rows_without_a_sample_are_reported(bulk_run: BulkRun) -> None:
    qc = json.loads((bulk_run.out / "tpm" / "qc.json").read_text())
    assert qc["metadata_rows_unmatched"] == 1 and qc["metadata_ids_unmatched"] == ["sample99"]


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("genoprep: error:")]


def test_refused_inputs_fail_with_one_clear_line(bulk_run: BulkRun) -> None:
    lines = _error_lines(bulk_run.stderr)
    assert len(lines) == len(REFUSED), bulk_run.stderr[-4000:]
    cards = bulk_run.cards
    fractional = cards["fractional_counts"]["input"]["path"]
    gene = pd.read_csv(MOV10_COUNTS, sep="\t").iloc[4, 0]  # the row the derived table changed
    assert (
        f"genoprep: error: {fractional}: gene {gene}, sample Mov10_oe_2: value 12.5 is not an integer: "
        "counts must be non-negative integers"
    ) in "\n".join(lines)
    duplicates = cards["duplicate_genes"]["input"]["path"]
    assert (
        f"genoprep: error: {duplicates}: 2 gene ids occur more than once (1/2-SBSRNA4 (2x), A1BG (3x)); "
        "set input.duplicate_genes: sum"
    ) in "\n".join(lines)
    meta = cards["missing_metadata"]["metadata"]["path"]
    assert f"genoprep: error: {meta}: no metadata row for 2 of 22 samples (e.g. GSM2545336, GSM2545337)" in "\n".join(
        lines
    )
    ragged = cards["ragged_row"]["input"]["path"]
    assert f"genoprep: error: {ragged}: cannot read the tsv table: " in "\n".join(lines)
    assert "Expected 9 fields in line 7, saw 10" in "\n".join(lines)
    strict = [line for line in lines if "the filters kept" in line]
    assert len(strict) == 1 and strict[0].startswith(f"genoprep: error: {GSE_COUNTS}: filters: the filters kept ")
    assert "min_mean_log (mean log expression over samples > 9) removed the most" in strict[0]
    assert "mean log expression per gene: median" in strict[0]
    for name in REFUSED:
        assert leftovers(bulk_run.out / name) == [], name  # nothing but the logs/ and benchmarks/ folders


def test_filter_summary_is_said_on_the_terminal(bulk_run: BulkRun) -> None:
    qc = json.loads((bulk_run.out / "gse96870" / "qc.json").read_text())
    n_in, n_out = qc["genes_input"], qc["genes_after_filters"]
    assert f"genoprep: gse96870: kept {n_out} of {n_in} genes (min_mean_log -{n_in - n_out})" in bulk_run.stderr


def test_spreadsheet_export_gives_the_same_artifacts(bulk_run: BulkRun) -> None:
    for name in ("X.npy", "features.tsv", "obs.tsv"):
        assert (bulk_run.out / "bom_crlf" / name).read_bytes() == (bulk_run.out / "rpkm12" / name).read_bytes()


def test_completed_card_records_facts_and_checksums(bulk_run: BulkRun) -> None:
    out = bulk_run.out / "mov10"
    card = yaml.safe_load((out / "card.yaml").read_text())
    computed = card["computed"]
    assert computed["n_samples"] == 8 and computed["n_features"] == computed["n_genes"]
    assert computed["n_features"] == len((out / "features.tsv").read_text().splitlines())
    assert set(computed["artifacts_sha256"]) == ARTIFACTS
    for name, digest in computed["artifacts_sha256"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
    assert card["input"]["value_type"] == "counts" and card["params"]["min_mean_log"] == 1.0
    assert card["params"]["min_fraction_expressed"] == 0.75
    assert "CPM" in computed["preprocessing"]["normalization"] and "anndata" in computed["preprocessing"]["software"]


def test_second_run_from_the_completed_card_gives_identical_bytes(bulk_run: BulkRun, tmp_path: Path) -> None:
    first = bulk_run.out / "rpkm12"
    (tmp_path / "cards").mkdir()
    shutil.copy(first / "card.yaml", tmp_path / "cards" / "rpkm12.yaml")
    run_workflow(tmp_path / "cards", tmp_path / "again")
    assert artifact_bytes(first) == artifact_bytes(tmp_path / "again" / "rpkm12")


@pytest.mark.parametrize("name", PROCESSED)
def test_qc_figure_is_written_for_the_report(bulk_run: BulkRun, name: str) -> None:
    png = bulk_run.out / name / "qc_samples.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (
        "qc_samples.png"
        not in yaml.safe_load((bulk_run.out / name / "card.yaml").read_text())["computed"]["artifacts_sha256"]
    )  # a report figure, not a checksummed artifact


def _job_counts(output: str) -> dict[str, int]:
    """The ``Job stats`` table of a ``snakemake -n`` run: {rule: jobs}."""
    lines = output.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == "Job stats:"), None)
    counts: dict[str, int] = {}
    for line in lines[start + 3 :] if start is not None else []:
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit() or parts[0] == "total":
            break
        counts[parts[0]] = int(parts[1])
    return counts


def test_editing_a_card_reruns_only_the_steps_that_read_the_edit(bulk_run: BulkRun, tmp_path: Path) -> None:
    target = str(bulk_run.out / "mov10" / "card.yaml")
    cards = dict(bulk_run.cards)
    cards["mov10"] = {**cards["mov10"], "description": "edited", "license": "CC0-1.0"}
    for card in cards.values():
        write_card(tmp_path / "described", card)
    done = run_workflow(tmp_path / "described", bulk_run.out, "-n", target)
    assert _job_counts(done.stdout + done.stderr) == {"write_card": 1}, done.stdout[-3000:]
    cards["mov10"] = {**cards["mov10"], "params": {**cards["mov10"]["params"], "correlation_mads": 2.5}}
    for card in cards.values():
        write_card(tmp_path / "qc_edit", card)
    done = run_workflow(tmp_path / "qc_edit", bulk_run.out, "-n", target)
    # the intermediate h5ad files are temp(): rerunning bulk_export rebuilds them, but only
    # bulk_export (and write_card) run because of their params
    reasons: dict[str, str] = {}
    rule = None
    for line in (done.stdout + done.stderr).splitlines():
        if line.startswith("rule ") and line.rstrip().endswith(":"):
            rule = line.split()[1].rstrip(":")
        elif line.strip().startswith("reason:") and rule is not None:
            reasons[rule] = line
    # bulk_qc_plot and report_bulk read qc.json and processed.h5ad, which bulk_export rewrites; the
    # figures are checksummed in card.yaml
    redrawn = {"bulk_qc_plot", "report_bulk"}
    assert set(reasons) == {"bulk_ingest", "bulk_normalize", "bulk_export", "write_card"} | redrawn, reasons
    assert "Params have changed" in reasons["bulk_export"]
    assert "Params have changed" not in "".join(reasons[r] for r in ("bulk_ingest", "bulk_normalize", *redrawn))
