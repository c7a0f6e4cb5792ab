"""Report figures (genoprep.report): what each panel draws, checked against independent numpy
computations on tiny hand-made inputs, and identical PNG bytes on two renders."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from genoprep.dna.artifacts import write_fixed_tokens, write_kmer_counts, write_kmer_text, write_variable_tokens
from genoprep.dna.io import DnaRecord
from genoprep.plotting import plt, save_figure
from genoprep.report import common, dna, run, variants


def heights(container) -> list[float]:
    return [patch.get_height() for patch in container]


def reference_counts(values, lo: float, hi: float, n: int | None = None) -> np.ndarray:
    """sqrt(n) equal bins (at most 30; n: the panel's values, default these) from lo to hi,
    computed here without numpy's edge helper."""
    values = np.asarray(values, dtype=float)
    n_bins = min(30, int(np.ceil(np.sqrt(values.size if n is None else n))))
    edges = lo + (hi - lo) * np.arange(n_bins + 1) / n_bins
    counts, _ = np.histogram(values, bins=edges)
    return counts


def png_bytes(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()


OBS = pd.DataFrame(
    {
        "id": [f"s{i}" for i in range(9)],
        "label": ["A", "A", "A", "A", "B", "B", "", "", "A"],
        "length": [100, 120, 90, 300, 50, 55, 70, 80, 110],
        "gc": [0.4, 0.5, 0.45, 0.6, 0.3, 0.35, 0.5, 0.5, 0.42],
        "n_fraction": [0.0, 0.0, 0.1, 0.0, 0.0, 0.0, 0.5, 0.0, 0.0],
    }
)


def test_sequence_figure_draws_each_class_on_shared_bins(tmp_path: Path) -> None:
    path = tmp_path / "obs.tsv"
    OBS.to_csv(path, sep="\t", index=False)
    obs = dna.read_obs(path)
    assert obs["label"].tolist()[6:8] == ["unlabelled", "unlabelled"]
    figure = dna.sequence_figure(obs, "tiny")
    expected_groups = ["A", "B", "unlabelled"]  # largest class first, ties by name
    for ax, column in zip(figure.axes, ["length", "gc", "n_fraction"]):
        values = OBS[column].to_numpy(dtype=float)
        assert len(ax.containers) == 3
        for container, group in zip(ax.containers, expected_groups):
            mask = obs["label"].to_numpy() == group
            assert (
                heights(container) == reference_counts(values[mask], values.min(), values.max(), n=values.size).tolist()
            )
        assert sum(sum(heights(c)) for c in ax.containers) == len(OBS)  # every sequence drawn once
    legend = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    assert legend == ["A (n=5)", "B (n=2)", "unlabelled (n=2)"]
    plt.close(figure)


def test_group_labels_pools_the_smallest_classes_as_other() -> None:
    labels = [f"c{i}" for i in range(10) for _ in range(10 - i)]  # c0 x10, c1 x9, ..., c9 x1
    grouped, groups = common.group_labels(labels)
    assert groups == [*(f"c{i}" for i in range(common.MAX_CLASSES - 1)), "other"]
    assert (grouped == "other").sum() == sum(10 - i for i in range(common.MAX_CLASSES - 1, 10))


RECORDS = [
    DnaRecord(1, "r1", "ACGTA", "x"),  # 5 bases
    DnaRecord(2, "r2", "ACGTACGTACGT", "y"),  # 12 bases
    DnaRecord(3, "r3", "AC", None),  # 2 bases
]


@pytest.mark.parametrize(
    ("scheme", "settings", "expected"),
    [
        # char: one id per base, at most max_len, the rest <PAD>
        ("char", {"max_len": 8, "truncation": "right"}, [5, 8, 2]),
        # hyenadna: bases (at most max_len - 1) and [SEP], left-padded
        ("hyenadna", {"max_len": 8, "truncation": "right"}, [6, 8, 3]),
    ],
)
def test_token_lengths_of_fixed_schemes_count_the_non_padding_ids(tmp_path, scheme, settings, expected) -> None:
    path = tmp_path / f"tokens_{scheme}.npy"
    write_fixed_tokens(RECORDS, path, scheme, settings)
    assert dna.token_lengths(path, scheme, settings).tolist() == expected


def test_token_lengths_of_variable_counts_and_text_schemes(tmp_path: Path) -> None:
    write_variable_tokens(RECORDS, tmp_path / "d.parquet", "dnabert", {"k": 3})
    # [CLS] + (L - k + 1) k-mers + [SEP]; just [CLS] [SEP] when L < k
    assert dna.token_lengths(tmp_path / "d.parquet", "dnabert", {"k": 3}).tolist() == [5, 12, 2]
    with pytest.MonkeyPatch.context() as patch:  # read in batches of 2 rows: the same lengths, in order
        patch.setattr(dna, "ROWS_PER_READ", 2)
        assert dna.token_lengths(tmp_path / "d.parquet", "dnabert", {"k": 3}).tolist() == [5, 12, 2]
    counts = {"k": 2, "canonical": False}
    write_kmer_counts(RECORDS, tmp_path / "k.npz", counts)
    assert dna.token_lengths(tmp_path / "k.npz", "kmer_counts", counts).tolist() == [4, 11, 1]
    text = {"k": 3, "stride": 1}
    write_kmer_text(RECORDS, tmp_path / "t.tsv", text)
    assert dna.token_lengths(tmp_path / "t.tsv", "kmer_tokenize", text).tolist() == [3, 10, 0]


def test_token_length_figure_one_panel_per_scheme_in_order() -> None:
    lengths = {"char": np.array([8, 8, 5]), "dnabert": np.array([5, 12, 2, 7])}
    figure = dna.token_length_figure(lengths, "tiny")
    assert [ax.get_title().split()[0] for ax in figure.axes] == ["char", "dnabert"]
    for ax, values in zip(figure.axes, lengths.values()):
        assert heights(ax.containers[0]) == reference_counts(values, values.min(), values.max()).tolist()
    plt.close(figure)


QC = {
    "filter_order": ["load (regions, samples, FILTER, multiallelic)", "mind", "geno", "hwe", "maf"],
    "filters": {"min_maf": 0.05, "max_variant_missing": 0.2, "max_sample_missing": 0.1, "hwe_p": None},
    "records_read": 50,
    "records_removed": {"region": 0, "filter": 3, "multiallelic": 2},
    "records_split_multiallelic": 0,
    "variants_before": 45,
    "variants_after": 30,
    "variants_removed": {"geno": 4, "hwe": 0, "maf": 11},
    "samples_before": 10,
    "samples_after": 8,
    "samples_removed": {"mind": 2},
}


def test_removed_per_filter_in_run_order_with_their_denominators() -> None:
    removed_variants, removed_samples = variants.removed_per_filter(QC)
    assert removed_variants == [
        ("load: region", 0, 50),
        ("load: filter", 3, 50),
        ("load: multiallelic", 2, 50),
        ("geno", 4, 45),
        ("hwe", 0, 45),
        ("maf", 11, 45),
    ]
    assert removed_samples == [("mind", 2, 10)]
    # what was removed adds up to what qc.json says was kept
    assert 45 - sum(n for name, n, _ in removed_variants if not name.startswith("load")) == QC["variants_after"]
    figure = variants.filter_figure(QC, "tiny")
    bars = figure.axes[0].containers[0]
    assert [bar.get_width() for bar in bars] == [11, 0, 4, 2, 3, 0]  # drawn bottom-up: first filter on top
    assert [t.get_text() for t in figure.axes[0].get_yticklabels()][-1] == "load: region"
    plt.close(figure)


def test_variants_qc_figure_histograms_and_thresholds() -> None:
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"MAF": rng.uniform(0.05, 0.5, 40), "missing_rate": rng.uniform(0, 0.2, 40)})
    samples = pd.DataFrame({"sample_id": list("abcdefgh"), "missing_rate": [0, 0, 0.01, 0.02, 0.05, 0.05, 0.09, 0.1]})
    figure = variants.qc_figure(table, samples, QC, "tiny")
    maf, vmiss, smiss = figure.axes
    assert heights(maf.containers[0]) == reference_counts(table["MAF"], 0.0, 0.5).tolist()
    top = max(table["missing_rate"].max(), 0.2)
    assert heights(vmiss.containers[0]) == reference_counts(table["missing_rate"], 0.0, top).tolist()
    assert heights(smiss.containers[0]) == reference_counts(samples["missing_rate"], 0.0, 0.1).tolist()
    assert [ax.lines[0].get_xdata()[0] for ax in figure.axes] == [0.05, 0.2, 0.1]
    plt.close(figure)


def test_run_summary_reads_benchmarks(tmp_path: Path) -> None:
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    (tmp_path / "b_step.tsv").write_text(header + "2.0\t0:00:02\t-\t-\t-\t-\t-\t-\t0\t0\n")
    (tmp_path / "a_step.tsv").write_text(
        header + "10.0\t0:00:10\t100.5\t1\t1\t1\t0\t0\t1\t1\n" + "20.0\t0:00:20\t300.5\t1\t1\t1\t0\t0\t1\t1\n"
    )
    runs = run.read_benchmarks(list(tmp_path.glob("*.tsv")))
    assert runs["rule"].tolist() == ["a_step", "b_step"]
    assert runs["seconds"].tolist() == [15.0, 2.0]  # repeats averaged
    assert runs["max_rss_mib"].iloc[0] == 200.5 and np.isnan(runs["max_rss_mib"].iloc[1])
    figure = run.run_summary_figure(runs, "tiny")
    time_ax, memory_ax = figure.axes
    assert [bar.get_width() for bar in time_ax.containers[0]] == [2.0, 15.0]  # bottom-up
    assert [bar.get_width() for bar in memory_ax.containers[0]] == [0.0, 200.5]
    assert [t.get_text() for t in memory_ax.texts] == ["n/a", "200"]
    plt.close(figure)
    (tmp_path / "bad.tsv").write_text("x\ty\n1\t2\n")
    with pytest.raises(ValueError, match="bad.tsv: not a Snakemake benchmark file"):
        run.read_benchmarks([tmp_path / "bad.tsv"])


def test_two_renders_give_identical_png_bytes(tmp_path: Path) -> None:
    renders = []
    for _ in range(2):
        renders.append(
            [
                png_bytes(dna.sequence_figure(OBS.assign(label=OBS["label"].replace("", "unlabelled")), "t")),
                png_bytes(variants.filter_figure(json.loads(json.dumps(QC)), "t")),
            ]
        )
    assert renders[0] == renders[1]
    # save_figure writes the same bytes, with no software/time text chunk
    save_figure(variants.filter_figure(QC, "t"), tmp_path / "a.png")
    save_figure(variants.filter_figure(QC, "t"), tmp_path / "b.png")
    data = (tmp_path / "a.png").read_bytes()
    assert data == (tmp_path / "b.png").read_bytes() and data == renders[0][1]
    assert b"tEXt" not in data and b"tIME" not in data


def test_workflow_helpers_name_each_schemes_token_file() -> None:
    from genoprep.report import workflow

    params = {
        "tokenizers": ["kmer_counts", "char", "dnabert", "kmer_tokenize"],
        "kmer_counts": {"k": 4, "canonical": False},
        "char": {"max_len": 16, "truncation": "right"},
        "dnabert": {"k": 6},
        "kmer_tokenize": {"k": 6, "stride": 1},
    }
    assert workflow.token_files(params) == [
        "kmers_k4.npz",
        "tokens_char.npy",
        "tokens_dnabert.parquet",
        "tokens_kmer_tokenize.tsv",
    ]
    assert list(workflow.token_settings(params)) == params["tokenizers"]
