"""Report figures of the expression modalities and the card table: what each panel draws,
checked against the inputs (hand-made), and identical PNG bytes on two renders."""

from __future__ import annotations

import numpy as np
import pandas as pd

from genoprep.plotting import plt
from genoprep.report import embedding
from genoprep.report.card import card_html, card_rows
from tests.unit.test_report_figures import png_bytes

OBSM = {
    "X_pca": np.array([[0.0, 1.0, 5.0], [1.0, 2.0, 5.0], [2.0, 3.0, 5.0], [3.0, 4.0, 5.0], [4.0, 5.0, 5.0]]),
    "X_umap": np.array([[9.0, 8.0], [7.0, 6.0], [5.0, 4.0], [3.0, 2.0], [1.0, 0.0]]),
}
LABELS = {"cell_type": ["T", "B", "T", "NA", "T"], "donor_id": ["d1", "d1", "d2", "d2", "d2"]}


def drawn_points(ax) -> dict[str, np.ndarray]:
    """Legend label -> the points of that scatter."""
    return {collection.get_label(): collection.get_offsets().data for collection in ax.collections}


def test_embedding_figure_draws_each_class_at_its_coordinates() -> None:
    figure = embedding.embedding_figure(OBSM, LABELS, "tiny", np.array([0.5, 0.25, 0.1]))
    axes = np.array(figure.axes).reshape(2, 2)
    assert axes[0, 0].get_xlabel() == "PC1 (50.0% of variance)" and axes[0, 1].get_xlabel() == "UMAP1"
    assert axes[1, 0].get_title() == "PCA coloured by donor_id"
    for row, values in enumerate(LABELS.values()):
        values = np.asarray(values)
        for col, name in enumerate(("X_pca", "X_umap")):
            points = drawn_points(axes[row, col])
            classes = sorted(set(values.tolist()))
            assert sorted(key.rsplit(" (", 1)[0] for key in points) == classes
            for key, xy in points.items():
                cls = key.rsplit(" (", 1)[0]
                assert key.endswith(f"({int((values == cls).sum())})")
                assert np.array_equal(xy, OBSM[name][values == cls][:, :2])
    plt.close(figure)
    # missing labels are grey like "other"
    grey = [c for c in axes[0, 0].collections if c.get_label().startswith("NA ")][0]
    assert np.allclose(grey.get_facecolor()[0][:3], plt.matplotlib.colors.to_rgb(embedding.OTHER_COLOUR))


def test_embedding_figure_without_labels_or_umap_and_its_bytes_are_stable() -> None:
    figure = embedding.embedding_figure({"X_pca": OBSM["X_pca"]}, {}, "tiny")
    assert len(figure.axes) == 1
    assert np.array_equal(figure.axes[0].collections[0].get_offsets().data, OBSM["X_pca"][:, :2])
    plt.close(figure)
    assert png_bytes(embedding.embedding_figure(OBSM, LABELS, "t")) == png_bytes(
        embedding.embedding_figure(OBSM, LABELS, "t")
    )


def test_hvg_figure_highlights_exactly_the_highly_variable_genes() -> None:
    var = pd.DataFrame(
        {
            "means": [0.1, 0.5, 1.0, 2.0, np.nan],
            "dispersions": [1.0, 3.0, 0.5, 4.0, 1.0],
            "highly_variable": [False, True, False, True, False],
        },
        index=list("abcde"),
    )
    figure = embedding.hvg_figure(var, "tiny")
    other, hvg = figure.axes[0].collections
    assert hvg.get_label() == "highly variable (2)" and other.get_label() == "other genes (3)"
    assert np.array_equal(hvg.get_offsets().data, [[0.5, 3.0], [2.0, 4.0]])
    assert np.array_equal(other.get_offsets().data, [[0.1, 1.0], [1.0, 0.5]])  # no point for a NaN mean
    plt.close(figure)


QC = {
    "before": {"cells": 100, "genes": 50},
    "after": {"cells": 70, "genes": 45},
    "filters": [
        {
            "filter": "min_genes",
            "threshold": 200,
            "cells_before": 100,
            "cells_after": 90,
            "genes_before": 50,
            "genes_after": 50,
        },
        {
            "filter": "min_cells",
            "threshold": 3,
            "cells_before": 90,
            "cells_after": 90,
            "genes_before": 50,
            "genes_after": 45,
        },
        {
            "filter": "max_pct_mito",
            "threshold": 5.5,
            "cells_before": 90,
            "cells_after": 70,
            "genes_before": 45,
            "genes_after": 45,
        },
    ],
}


def test_cells_removed_per_filter_in_order() -> None:
    cells, genes = embedding.cells_removed(QC)
    assert cells == [("min_genes (200)", 10, 100), ("min_cells (3)", 0, 90), ("max_pct_mito (5.5)", 20, 90)]
    assert genes == [("min_genes (200)", 0, 50), ("min_cells (3)", 5, 50), ("max_pct_mito (5.5)", 0, 45)]
    figure = embedding.cells_removed_figure(QC, "tiny")
    widths = [bar.get_width() for bar in figure.axes[0].patches]
    assert widths == [20, 0, 10]  # first filter on top (drawn last)
    assert figure._suptitle.get_text() == "tiny: 100 -> 70 cells, 50 -> 45 genes"
    plt.close(figure)


def test_correlation_strips_follow_the_labels() -> None:
    qc = {"correlation": {"samples": ["s1", "s2", "s3"], "matrix": [[1, 0.5, 0.2], [0.5, 1, 0.3], [0.2, 0.3, 1]]}}
    figure = embedding.correlation_figure(qc, {"condition": ["a", "b", "a"]}, "tiny")
    heat = next(ax for ax in figure.axes if ax.get_yticklabels() and ax.get_yticklabels()[0].get_text() == "s1")
    assert np.array_equal(heat.images[0].get_array(), np.asarray(qc["correlation"]["matrix"], dtype=float))
    strip = next(ax for ax in figure.axes if [t.get_text() for t in ax.get_yticklabels()] == ["condition"])
    colours = strip.images[0].get_array()[0]
    assert np.array_equal(colours[0], colours[2]) and not np.array_equal(colours[0], colours[1])
    plt.close(figure)


def test_card_rows_and_html() -> None:
    card = {
        "dataset_id": "d<1>",
        "input": {"path": "/x.h5ad", "sha256": "ab"},
        "params": {"mito_prefixes": ["MT-", "mt-"], "max_genes": None, "umap": True, "tokenizers": []},
        "inputs_list": [{"path": "a"}, {"path": "b"}],
    }
    assert list(card_rows(card)) == [
        ("dataset_id", "d<1>"),
        ("input.path", "/x.h5ad"),
        ("input.sha256", "ab"),
        ("params.mito_prefixes", "MT-, mt-"),
        ("params.max_genes", "null"),
        ("params.umap", "true"),
        ("params.tokenizers", "[]"),
        ("inputs_list[0].path", "a"),
        ("inputs_list[1].path", "b"),
    ]
    page = card_html(card, "/r/d/card.yaml")
    assert "<code>dataset_id</code></td><td>d&lt;1&gt;</td>" in page and "<d<1>" not in page
    assert "/r/d" not in page  # only the file name, not where the results are


def test_tasks_figure_counts_rows_per_split_and_class_and_draws_the_baseline() -> None:
    from genoprep.report import tasks

    rows = pd.DataFrame(
        {
            "id": [f"r{i}" for i in range(8)],
            "split": ["train", "train", "train", "val", "test", "test", "train", "test"],
            "label": ["a", "b", "a", "a", "b", "b", "NA", "a"],
            "code": [0, 1, 0, 0, 1, 1, -1, 0],
            "in_bundle": [True, True, True, True, True, True, False, True],
        }
    )
    counts = tasks.split_counts(rows)
    assert counts.index.tolist() == ["train", "val", "test"]
    assert counts.to_dict() == {"a": {"train": 2, "val": 1, "test": 1}, "b": {"train": 1, "val": 0, "test": 2}}
    unlabelled = tasks.split_counts(rows.drop(columns=["label", "code"]))
    assert unlabelled["rows"].to_dict() == {"train": 3, "val": 1, "test": 3}
    baseline = {
        "metric": "balanced_accuracy",
        "real": {"balanced_accuracy": 0.9},
        "shuffled_labels": {"balanced_accuracy": 0.45},
        "chance_balanced_accuracy": 0.5,
        "learnable": True,
    }
    assert tasks.baseline_scores(baseline) == (
        "balanced_accuracy",
        [("real labels", 0.9), ("shuffled labels", 0.45), ("chance", 0.5)],
    )
    figure = tasks.tasks_figure({"sequence_classification": (rows, baseline)}, "tiny")
    split_ax, baseline_ax = figure.axes[:2]
    widths = [patch.get_width() for patch in split_ax.patches]
    assert widths == [2, 1, 1, 1, 0, 2]  # class a over train/val/test, then class b
    assert [patch.get_height() for patch in baseline_ax.patches] == [0.9, 0.45, 0.5]
    plt.close(figure)


def test_tasks_figure_states_the_leakage_checks_of_the_split() -> None:
    """The leakage counts of a real check run (genoprep.leakage on hand-made keys) appear under the
    title: 1 val and 2 test rows repeat a train key, 2 test rows a val key; one donor crosses."""
    from genoprep import leakage
    from genoprep.report import tasks

    ids = [f"c{i}" for i in range(7)]
    splits = ["train", "train", "val", "val", "test", "test", "test"]
    keys = ["x", "y", "x", "z", "y", "x", "z"]
    donors = ["d1", "d1", "d2", "d2", "d3", "d3", "d1"]
    checks = [
        leakage.cross_split_duplicates(keys, ids, splits, "identical cells"),
        leakage.groups_crossing(donors, ids, splits, "donor_id"),
    ]
    report = leakage.apply_policy(checks, "report", "cells.h5ad").as_dict()
    lines = tasks.leakage_lines(report)
    assert lines == [
        "identical cells: 1 val in train, 2 test in train, 2 test in val",
        "donor_id: 1 in two splits (1 rows)",
        "leakage policy report: 0 rows dropped from evaluation",
    ]
    assert tasks.leakage_lines(None) == []
    rows = pd.DataFrame({"id": ids, "split": splits, "in_bundle": [True] * 7})
    figure = tasks.tasks_figure({"cell_type_annotation": (rows, None)}, "tiny", report)
    assert figure.get_suptitle().splitlines() == ["tiny", *lines]
    plt.close(figure)


def test_scrna_tokens_figure_counts_each_cell_once_and_states_the_section(tmp_path) -> None:
    """Two token tables written with pyarrow here (lengths chosen by hand): every cell lands in one
    histogram bar of its scheme's panel, and the panel title carries tokens.json's counters."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from genoprep.report import scrna_tokens

    paths = []
    for scheme, lengths in (("geneformer", [3, 5, 5, 2048, 7]), ("rank", [1, 1, 2])):
        table = pa.table({"cell_id": [f"c{i}" for i in range(len(lengths))], "length": lengths})
        table = table.replace_schema_metadata({"genoprep.scheme": scheme})
        pq.write_table(table, tmp_path / f"{scheme}.parquet")
        paths.append(str(tmp_path / f"{scheme}.parquet"))
    sections = {
        "geneformer": {"cells_tokenised": 5, "cells_dropped_empty": 2, "cells_truncated": 1},
        "rank": {"cells_tokenised": 3, "cells_dropped_empty": 0, "cells_truncated": 0},
    }
    assert scrna_tokens.token_lengths(paths[1])[0] == "rank"
    figure = scrna_tokens.tokens_figure(paths, sections, "tiny")
    geneformer, rank = figure.axes
    assert sum(patch.get_height() for patch in geneformer.patches) == 5
    assert sum(patch.get_height() for patch in rank.patches) == 3
    assert geneformer.get_title().splitlines() == [
        "geneformer (median 5)",
        "5 cells tokenised, 2 dropped as empty",
        "1 truncated at the length limit",
    ]
    assert rank.get_xlabel() == "tokens per cell"
    plt.close(figure)
