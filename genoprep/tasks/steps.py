"""Workflow steps of the task layer: splits + leakage for a table of ids, and the variant_effect dataset.

Each function reads its inputs, calls the library and writes its outputs; the scripts in
``scripts/`` only pass Snakemake's paths in.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from genoprep import leakage as leak
from genoprep.errors import InputError
from genoprep.filters import FilterStep, guard, summary_line
from genoprep.jsonio import write_json
from genoprep.provenance import package_versions
from genoprep.runtime import console
from genoprep.splits import (
    SPLITS,
    SplitOptions,
    assign_splits,
    predefined_splits,
    read_splits,
    split_summary,
    write_splits,
)
from genoprep.tables import as_labels, read_table
from genoprep.tasks import bundle
from genoprep.tasks.fasta import Reference
from genoprep.tasks.params import TaskOptions
from genoprep.tasks.variant_effect import (
    VariantEffectOptions,
    column_values,
    read_variants,
    split_arrays,
    write_variants_tsv,
)
from genoprep.textio import StrPath

SOFTWARE = ("numpy", "scipy", "scikit-learn")
VARIANT_EFFECT_FILES = ["variants.tsv", *(f"{s}.npz" for s in SPLITS), "task.yaml"]


def variant_effect_artifacts(card: Any) -> list[str]:
    """The artifacts of a variant_effect dataset (names under OUT/<dataset_id>/)."""
    names = ["splits.tsv", "qc.json", *(f"tasks/variant_effect/{name}" for name in VARIANT_EFFECT_FILES)]
    if card.params["tasks"]["baseline"]:
        names.append("tasks/variant_effect/baseline.json")
    return names


def make_splits(ids: Sequence[str], options: SplitOptions, column: Any, source: str) -> np.ndarray:
    """Splits of ``ids``; ``column(name)`` gives a per-id column (for predefined, stratify_by, group_by)."""
    if not options.enabled:
        raise InputError(source, "task bundles need splits: set params.split.enabled: true", record="params.split")
    seen: set[str] = set()
    for item in ids:
        if item in seen:
            raise InputError(source, "id occurs twice: splits need unique ids", record=f"id {item}")
        seen.add(item)
    if options.predefined:
        return predefined_splits(column(options.predefined), ids, source, f"column {options.predefined!r}")
    strata = column(options.stratify_by) if options.stratify_by else None
    groups = column(options.group_by) if options.group_by else None
    return assign_splits(ids, fractions=options.fractions, seed=options.seed, strata=strata, groups=groups)


def role_path(card: Any, role: str) -> str:
    """The path of the card's input with ``role`` (variants / reference), resolved against the card."""
    for entry, path in zip(card.input_entries(), card.input_paths()):
        if entry.get("role") == role:
            return os.fspath(path)
    raise InputError(str(card.path), f"no input with role {role!r}", record="inputs")


def variant_effect_dataset(
    dataset_id: str,
    options: VariantEffectOptions,
    split_options: SplitOptions,
    leakage_policy: str,
    vcf_path: StrPath,
    fasta_path: StrPath,
    *,
    splits_path: StrPath,
    qc_path: StrPath,
    bundle_dir: StrPath,
    facts_path: StrPath,
) -> dict[str, Any]:
    """Labelled VCF + reference -> splits.tsv, qc.json, the variant_effect bundle and the card's facts."""
    source = os.fspath(vcf_path)
    with Reference(fasta_path) as reference:
        table = read_variants(vcf_path, reference, options)
    checked = table.n_alleles - table.dropped.get("unknown_contig", 0) - table.dropped.get("ref_mismatch", 0)
    steps = [
        FilterStep(
            "contig and REF check",
            "alleles",
            table.n_alleles,
            checked,
            f"ref_mismatch: {options.ref_mismatch}",
            f"{table.dropped.get('ref_mismatch', 0)} REF mismatches, "
            f"{table.dropped.get('unknown_contig', 0)} on contigs not in the reference",
        ),
        FilterStep(f"label ({options.label_field} in label_map)", "checked alleles", checked, len(table.variants)),
    ]
    console(summary_line(dataset_id, steps))
    if table.ref_mismatches:
        console(
            f"{dataset_id}: {table.dropped['ref_mismatch']} REF mismatch(es) dropped, e.g. "
            + "; ".join(table.ref_mismatches)
        )
    guard(source, steps, "alleles", options.min_fraction_kept)
    if not table.variants:
        raise InputError(source, f"no variant left with a label in params.label_map ({options.label_field})")
    variants = table.variants
    ids = [v.id for v in variants]
    splits = make_splits(ids, split_options, lambda name: column_values(variants, name, source), source)
    checks = [
        leak.cross_split_duplicates(
            leak.variant_keys(
                [v.chrom for v in variants],
                [v.pos for v in variants],
                [v.ref for v in variants],
                [v.alt for v in variants],
            ),
            ids,
            splits,
            "the same variant",
        )
    ]
    if split_options.group_by:
        checks.append(
            leak.groups_crossing(
                column_values(variants, split_options.group_by, source), ids, splits, f"{split_options.group_by} groups"
            )
        )
    report = leak.apply_policy(checks, leakage_policy, source)
    console(f"{dataset_id}: {report.summary_line()}")
    drop = report.drop_from_eval()
    write_splits(splits_path, ids, splits)

    bundle_dir = Path(bundle_dir)
    bundle_dir.mkdir(parents=True, exist_ok=True)
    write_variants_tsv(bundle_dir / "variants.tsv", variants, splits)
    counts = {}
    for split in SPLITS:
        keep = np.asarray(splits == split)
        if drop is not None and split != "train":
            keep &= ~drop
        chosen = [v for v, k in zip(variants, keep) if k]
        bundle.save_arrays(bundle_dir / f"{split}.npz", split_arrays(chosen, options))
        counts[split] = {"n": len(chosen), "n_label_1": sum(v.label for v in chosen)}
    task = bundle.write_task_yaml(
        bundle_dir,
        "variant_effect",
        dataset_id=dataset_id,
        inputs=[f"{side}_{scheme}" for scheme in options.tokenizers for side in ("ref", "alt")],
        target=f"y: INFO {options.label_field} mapped by params.label_map (1 = pathogenic side, 0 = benign side)",
        metric="balanced_accuracy",
        split_file="../../splits.tsv",
        files=[bundle_dir / name for name in VARIANT_EFFECT_FILES if name != "task.yaml"],
        extra={
            "label_map": dict(options.label_map),
            "window_width": options.width,
            "window_rule": "(width - 1) // 2 bases before the variant's first base; the alt window keeps the width",
            "tokenizers": list(options.tokenizers),
            "counts": counts,
            "dropped_from_eval": int(drop.sum()) if drop is not None else 0,
        },
    )
    groups = column_values(variants, split_options.group_by, source) if split_options.group_by else None
    qc = {
        "variants": table.qc(),
        "splits": split_summary(splits, [str(v.label) for v in variants], groups),
        "split_rule": split_options.describe(),
        "leakage": report.as_dict(),
    }
    write_json(qc, qc_path)
    facts = {
        "n_variants": len(variants),
        "n_records": table.n_records,
        "splits": qc["splits"]["n"],
        "preprocessing": {
            "software": package_versions(SOFTWARE),
            "windows": f"width {options.width}, circular contigs {list(options.circular)}",
            "labels": f"INFO {options.label_field} through params.label_map",
            "split": split_options.describe(),
            "task": task["task"],
        },
    }
    write_json(facts, facts_path)
    return facts


def variant_effect_baseline(
    dataset_id: str,
    options: VariantEffectOptions,
    tasks: TaskOptions,
    bundle_dir: StrPath,
    out_path: StrPath,
) -> dict[str, Any]:
    """Logistic regression on the alt - ref k-mer count difference (``kmer_counts`` must be a tokenizer)."""
    if "kmer_counts" not in options.tokenizers:
        raise InputError(
            dataset_id,
            "the variant_effect baseline needs 'kmer_counts' in params.tokenizers",
            record="params.tokenizers",
        )

    def difference(arrays: dict[str, Any]) -> Any:
        return (arrays["alt_kmer_counts"] - arrays["ref_kmer_counts"]).astype(np.float64)

    train, test = _train_test(bundle_dir)
    return _classification(
        dataset_id,
        tasks,
        bundle_dir,
        out_path,
        (difference(train), train["y"]),
        (difference(test), test["y"]),
        f"alt - ref {options.kmer_k}-mer counts of the {options.width}-base windows",
    )


def _train_test(folder: StrPath) -> tuple[dict[str, Any], dict[str, Any]]:
    """The arrays of a bundle's ``train.npz`` and ``test.npz``."""
    return bundle.load_arrays(Path(folder) / "train.npz"), bundle.load_arrays(Path(folder) / "test.npz")


def _classification(
    dataset_id: str,
    tasks: TaskOptions,
    folder: StrPath,
    out_path: StrPath,
    train: tuple[Any, np.ndarray],
    test: tuple[Any, np.ndarray],
    features: str,
) -> dict[str, Any]:
    """The classification baseline of (features, labels) of train and test, through :func:`finish_baseline`."""
    from genoprep.tasks import baselines  # here: parsing the workflow imports this module, baselines import scipy

    result = baselines.classification_baseline(
        *train, *test, seed=tasks.seed, margin=tasks.leakage_margin, features=features
    )
    return finish_baseline(result, out_path, str(Path(folder) / "baseline.json"), dataset_id)


def finish_baseline(result: dict[str, Any], out_path: StrPath, source: str, dataset_id: str) -> dict[str, Any]:
    """Say the scores, raise the leakage alarm (one line) or write baseline.json."""
    metric = result["metric"]
    console(
        f"{dataset_id}: baseline {metric} {result['real'][metric]:.3f}, shuffled labels "
        f"{result['shuffled_labels'][metric]:.3f}"
        + (f", majority-class rate {result['majority_class_rate']:.3f}" if "majority_class_rate" in result else "")
    )
    if not result["learnable"]:
        console(f"{dataset_id}: warning: the baseline does not beat its shuffled-label control")
    from genoprep.tasks import baselines

    baselines.check_alarm(result, source)
    write_json(result, out_path)
    return result


# --------------------------------------------------------------- splits for any modality's rows


def split_rows(
    ids: Sequence[str],
    columns: Mapping[str, Sequence[Any]],
    split_options: SplitOptions,
    leakage_policy: str,
    source: str,
    *,
    keys: Sequence[tuple[str, Sequence[Any]]] = (),
) -> tuple[np.ndarray, dict[str, Any], np.ndarray | None]:
    """Splits of a modality's rows, their leakage checks, and the eval rows to drop.

    ``columns`` holds the per-row columns the card may name (labels, donor, a predefined
    split column); ``keys`` the leakage keys to compare across splits, e.g.
    ``[("identical cells", leakage.cell_keys(counts))]`` or ``[("identical sequences", ...)]``.
    Groups (``group_by``) are always checked for crossing. Returns ``(splits, qc dict for
    qc.json, drop mask or None)``; under policy ``error`` a leak raises one line.
    """

    def column(name: str) -> list[str]:
        if name not in columns:
            raise InputError(
                source, f"column {name!r} named by params.split is not one of {sorted(columns)}", record="params.split"
            )
        return [str(v) for v in as_labels(columns[name])]

    splits = make_splits(ids, split_options, column, source)
    checks = [leak.cross_split_duplicates(values, ids, splits, what) for what, values in keys]
    if split_options.group_by:
        checks.append(
            leak.groups_crossing(column(split_options.group_by), ids, splits, f"{split_options.group_by} groups")
        )
    report = leak.apply_policy(checks, leakage_policy, source)
    strata = column(split_options.stratify_by) if split_options.stratify_by else None
    groups = column(split_options.group_by) if split_options.group_by else None
    qc = {
        "split_rule": split_options.describe(),
        "splits": split_summary(splits, strata, groups),
        "leakage": report.as_dict(),
        "leakage_line": report.summary_line(),
    }
    return splits, qc, report.drop_from_eval()


# --------------------------------------------------------------- bundles from finished artifacts


def _splits_of(ids: Sequence[str], splits_path: StrPath) -> np.ndarray:
    given = read_splits(splits_path)
    missing = [i for i in ids if i not in given]
    if missing:
        raise InputError(os.fspath(splits_path), f"{len(missing)} row id(s) have no split, e.g. {missing[0]}")
    return np.asarray([given[i] for i in ids], dtype=object)


def annotation_bundle(
    dataset_id: str,
    tasks: TaskOptions,
    leakage_policy: str,
    x_path: StrPath,
    obs_path: StrPath,
    splits_path: StrPath,
    folder: StrPath,
) -> dict[str, Any]:
    """``X.npy`` + ``obs.tsv`` (id first, a ``tasks.label`` column) + ``splits.tsv`` -> tasks/cell_type_annotation/.

    Identical rows of X in two splits are the leakage check here (the count-level check of
    identical cells runs where the counts are, in the modality's split step).
    """
    matrix = np.load(x_path, mmap_mode="r")
    obs = read_table(obs_path, "tsv")
    if tasks.label not in obs.columns:
        raise InputError(os.fspath(obs_path), f"no label column {tasks.label!r} (params.tasks.label)", record="header")
    ids = list(obs.index)
    if matrix.shape[0] != len(ids):
        raise InputError(os.fspath(x_path), f"{matrix.shape[0]} rows, obs.tsv has {len(ids)}")
    splits = _splits_of(ids, splits_path)
    check = leak.cross_split_duplicates(leak.cell_keys(matrix), ids, splits, "identical rows of X")
    report = leak.apply_policy([check], leakage_policy, os.fspath(x_path))
    console(f"{dataset_id}: cell_type_annotation {report.summary_line()}")
    labels = [str(v) for v in as_labels(obs[tasks.label])]
    from genoprep.tasks import builders  # lazy: parsing the workflow imports this module (scipy)

    task = builders.cell_type_annotation(
        np.asarray(matrix),
        ids,
        labels,
        splits,
        folder,
        dataset_id=dataset_id,
        label_column=tasks.label,
        drop_from_eval=report.drop_from_eval(),
    )
    if task["excluded_missing_label"]:
        console(f"{dataset_id}: cell_type_annotation leaves out {task['excluded_missing_label']} rows labelled NA")
    return task


def annotation_baseline(dataset_id: str, tasks: TaskOptions, folder: StrPath, out_path: StrPath) -> dict[str, Any]:
    """Logistic regression on X_train -> X_test (baseline.json)."""
    names = ("X_train", "y_train", "X_test", "y_test")
    x_train, y_train, x_test, y_test = (np.load(Path(folder) / f"{name}.npy") for name in names)
    return _classification(dataset_id, tasks, folder, out_path, (x_train, y_train), (x_test, y_test), "X.npy rows")


def expression_bundle(
    dataset_id: str,
    tasks: TaskOptions,
    leakage_policy: str,
    h5ad_path: StrPath,
    splits_path: StrPath,
    folder: StrPath,
) -> dict[str, Any]:
    """``processed.h5ad`` + ``splits.tsv`` -> tasks/gene_expression_prediction/.

    The profile is the normalised expression: ``layers['log']`` when present (bulk RNA-seq,
    whose ``X`` is z-scored), else ``X`` (scRNA-seq: log1p of normalize_total). Identical
    profiles in two splits are the leakage check (``drop_from_eval`` leaves the repeated
    val/test rows out of the bundle).
    """
    import anndata as ad

    adata = ad.read_h5ad(h5ad_path)
    ids = [str(i) for i in adata.obs_names]
    splits = _splits_of(ids, splits_path)
    profile = adata.layers.get("log", adata.X)
    check = leak.cross_split_duplicates(leak.cell_keys(profile), ids, splits, "identical expression profiles")
    report = leak.apply_policy([check], leakage_policy, os.fspath(h5ad_path))
    console(f"{dataset_id}: gene_expression_prediction {report.summary_line()}")
    from genoprep.tasks import builders  # lazy: parsing the workflow imports this module (scipy)

    return builders.gene_expression_prediction(
        profile,
        ids,
        [str(g) for g in adata.var_names],
        splits,
        folder,
        dataset_id=dataset_id,
        mask_fraction=tasks.mask_fraction,
        heldout_genes=tasks.heldout_genes,
        seed=tasks.seed,
        drop_from_eval=report.drop_from_eval(),
    )


def expression_baseline(dataset_id: str, tasks: TaskOptions, folder: StrPath, out_path: StrPath) -> dict[str, Any]:
    """Mean profile and k-NN on the hidden test entries (baseline.json)."""
    train, test = _train_test(folder)
    from genoprep.tasks import baselines  # lazy: parsing the workflow imports this module (scipy)

    result = baselines.expression_baseline(
        train["input"],
        train["target"],
        test["input"],
        test["target"],
        test["mask"],
        seed=tasks.seed,
        margin=tasks.leakage_margin,
    )
    return finish_baseline(result, out_path, str(Path(folder) / "baseline.json"), dataset_id)


def sequence_bundle(
    dataset_id: str,
    tasks: TaskOptions,
    leakage_policy: str,
    obs_path: StrPath,
    kmers_path: StrPath,
    token_paths: Mapping[str, StrPath],
    splits_path: StrPath,
    folder: StrPath,
) -> dict[str, Any]:
    """DNA ``obs.tsv`` (id, label) + ``kmers_k<k>.npz`` + fixed-length token files -> tasks/sequence_classification/.

    Leakage: identical rows of the first token array (e.g. ``char``: identical sequences up to
    its max_len) across splits; without token files, identical k-mer rows.
    """
    import scipy.sparse as sp

    obs = read_table(obs_path, "tsv")
    if "label" not in obs.columns:
        raise InputError(os.fspath(obs_path), "no label column: sequence_classification needs labels", record="header")
    ids = list(obs.index)
    splits = _splits_of(ids, splits_path)
    kmers = sp.load_npz(kmers_path)
    tokens = {scheme: np.load(path) for scheme, path in token_paths.items()}
    first = next(iter(tokens.values()), None)
    keys = leak.cell_keys(first if first is not None else kmers)
    what = f"identical {next(iter(tokens), 'k-mer')} rows"
    report = leak.apply_policy(
        [leak.cross_split_duplicates(keys, ids, splits, what)], leakage_policy, os.fspath(obs_path)
    )
    console(f"{dataset_id}: sequence_classification {report.summary_line()}")
    from genoprep.tasks import builders  # lazy: parsing the workflow imports this module (scipy)

    return builders.sequence_classification(
        ids,
        [str(v) for v in as_labels(obs["label"])],
        splits,
        tokens,
        kmers,
        folder,
        dataset_id=dataset_id,
        drop_from_eval=report.drop_from_eval(),
    )


def sequence_baseline(dataset_id: str, tasks: TaskOptions, folder: StrPath, out_path: StrPath) -> dict[str, Any]:
    """Logistic regression on k-mer counts (baseline.json)."""
    train, test = _train_test(folder)
    return _classification(
        dataset_id, tasks, folder, out_path, (train["kmers"], train["y"]), (test["kmers"], test["y"]), "k-mer counts"
    )


#: the files of each bundle built from finished artifacts (besides task.yaml and baseline.json)
BUNDLE_FILES = {
    "cell_type_annotation": [*(f"{a}_{s}.npy" for s in SPLITS for a in ("X", "y")), "labels.tsv", "rows.tsv"],
    "gene_expression_prediction": [*(f"{s}.npz" for s in SPLITS), "genes.tsv", "rows.tsv"],
    "sequence_classification": [*(f"{s}.npz" for s in SPLITS), "labels.tsv", "rows.tsv"],
}


def task_artifacts(card: Any) -> list[str]:
    """``splits.tsv``, the bundle files of ``params.tasks.names`` and (scRNA-seq) the augmented files.

    Empty when ``params.split.enabled`` is false: a card without splits gives exactly the
    artifacts it gave before.
    """
    params = card.params
    if not params["split"]["enabled"]:
        return []
    names = ["splits.tsv"]
    for task in params["tasks"]["names"]:
        if task in BUNDLE_FILES:
            names += [f"tasks/{task}/{name}" for name in [*BUNDLE_FILES[task], "task.yaml"]]
            if params["tasks"]["baseline"]:
                names.append(f"tasks/{task}/baseline.json")
    if card.modality == "scrna":
        augment = params["augment"]
        names += [f"augmented_{kind}.h5ad" for kind, key in AUGMENTED.items() if augment[key]["enabled"]]
    return names


#: the augmented scRNA-seq files (``augmented_<kind>.h5ad``) and their section of params.augment
AUGMENTED = {"downsampled": "downsample", "doublets": "doublets"}


def with_task_artifacts(artifacts: Any) -> Any:
    """A modality's ``ARTIFACTS`` entry (a list, or a function of the card) plus :func:`task_artifacts`."""

    def names(card: Any) -> list[str]:
        base = artifacts(card) if callable(artifacts) else artifacts
        return [*base, *task_artifacts(card)]

    return names


def with_augment_facts(previous: Any, results: StrPath) -> Any:
    """A modality's ``EXTRA_FACTS`` entry (a function of the card, or None) plus the facts files of
    rule ``scrna_augment`` (``RESULTS/.work/<id>/augment_<kind>.json``) for the card's augmented files."""

    def names(card: Any) -> list[str]:
        base = list(previous(card)) if previous is not None else []
        kinds = [
            a.removeprefix("augmented_").removesuffix(".h5ad") for a in task_artifacts(card) if a in AUGMENTED_FILES
        ]
        return base + [os.path.join(results, ".work", card.dataset_id, f"augment_{kind}.json") for kind in kinds]

    return names


AUGMENTED_FILES = {f"augmented_{kind}.h5ad" for kind in AUGMENTED}


def splits_from_obs(obs_path: StrPath, splits_path: StrPath) -> None:
    """``splits.tsv`` from the id column and the ``split`` column of a finished ``obs.tsv``."""
    obs = read_table(obs_path, "tsv")
    if "split" not in obs.columns:
        raise InputError(os.fspath(obs_path), "no split column (params.split.enabled is false?)", record="header")
    write_splits(splits_path, list(obs.index), [str(v) for v in obs["split"]])


def sequence_task_inputs(card: Any) -> dict[str, Any]:
    """The DNA artifacts a sequence_classification bundle reads: ``kmers`` and fixed-length ``tokens``.

    ``leakage_keys``: the file whose identical rows count as identical sequences (the first
    fixed-length token file, i.e. identical up to its max_len; else the k-mer counts).
    """
    params = card.params  # 'kmer_counts' is among its tokenizers: checked at card load (tasks.params.check_card)
    kmers = f"kmers_k{params['kmer_counts']['k']}.npz"
    tokens = {  # windowed token arrays (stride set) have a row per window, not per sequence: left out
        s: f"tokens_{s}.npy"
        for s in ("char", "hyenadna")
        if s in params["tokenizers"] and params[s].get("stride") is None
    }
    return {"kmers": kmers, "tokens": tokens, "leakage_keys": next(iter(tokens.values()), kmers)}


#: the obs column holding each record's split when the inputs name it (one file per split)
INPUT_SPLIT = "input_file_split"


def input_file_splits(
    inputs: Sequence[Mapping[str, Any]], columns: Mapping[str, Any], paths: Sequence[StrPath]
) -> dict[str, str] | None:
    """{record id: split} when the DNA input entries name their ``split`` (one file per split), else None.

    ``inputs``/``columns`` are the card's entries and table columns
    (:class:`genoprep.dna.options.ReadOptions`); the files are read again for their ids only.
    """
    from genoprep.dna.io import read_entry
    from genoprep.splits import splits_from_files

    if not inputs or inputs[0].get("split") is None:
        return None
    ids: dict[str, list[str]] = {}
    split_of: dict[str, str] = {}
    for entry, path in zip(inputs, paths, strict=True):
        key = os.fspath(path)
        ids[key] = [record.id for record in read_entry(entry, path, columns, as_bytes=True)]
        split_of[key] = str(entry["split"])
    return splits_from_files(ids, split_of)


def obs_splits(
    dataset_id: str,
    split_options: SplitOptions,
    leakage_policy: str,
    obs_path: StrPath,
    key_path: StrPath | None,
    splits_path: StrPath,
    qc_path: StrPath,
    file_splits: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """``splits.tsv`` for the rows of an ``obs.tsv`` (id first; its columns can be named by params.split).

    ``key_path`` (a ``.npy`` token array or a scipy ``.npz`` matrix with one row per id) gives
    the leakage keys: identical rows in two splits. ``file_splits`` ({id: split}, from
    :func:`input_file_splits`) makes the split predefined by the input files. Writes the
    split summary and the leakage report to ``qc_path``.
    """
    import dataclasses

    import scipy.sparse as sp

    obs = read_table(obs_path, "tsv")
    ids = list(obs.index)
    keys: list[tuple[str, Sequence[Any]]] = []
    if key_path is not None:
        rows = sp.load_npz(key_path) if os.fspath(key_path).endswith(".npz") else np.load(key_path, mmap_mode="r")
        keys.append((f"identical rows of {Path(key_path).name}", leak.cell_keys(rows)))
    columns = {name: obs[name].to_numpy() for name in obs.columns}
    if file_splits is not None:
        columns[INPUT_SPLIT] = np.asarray([file_splits[i] for i in ids], dtype=object)
        split_options = dataclasses.replace(split_options, predefined=INPUT_SPLIT)
    splits, qc, _ = split_rows(ids, columns, split_options, leakage_policy, os.fspath(obs_path), keys=keys)
    n = qc["splits"]["n"]
    console(
        f"{dataset_id}: split {n['train']}/{n['val']}/{n['test']} rows ({split_options.describe()}); "
        f"{qc['leakage_line']}"
    )
    write_splits(splits_path, ids, splits)
    write_json(qc, qc_path)
    return qc
