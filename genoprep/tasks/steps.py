"""Workflow steps of the task layer: splits + leakage for a table of ids, and the variant_effect dataset.

Each function reads its inputs, calls the library and writes its outputs; the scripts in
``scripts/`` only pass Snakemake's paths in.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from genoprep import leakage as leak
from genoprep.errors import InputError
from genoprep.filters import FilterStep, guard, summary_line
from genoprep.jsonio import write_json
from genoprep.provenance import package_versions
from genoprep.runtime import console
from genoprep.splits import SPLITS, SplitOptions, assign_splits, predefined_splits, split_summary, write_splits
from genoprep.tasks import baselines, bundle
from genoprep.tasks.fasta import Reference
from genoprep.tasks.params import TaskOptions
from genoprep.tasks.variant_effect import (
    VariantEffectOptions,
    column_values,
    read_variants,
    split_arrays,
    write_variants_tsv,
)

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


def variant_effect_dataset(dataset_id: str, options: VariantEffectOptions, split_options: SplitOptions,
                           leakage_policy: str, vcf_path: str | os.PathLike[str],
                           fasta_path: str | os.PathLike[str], *, splits_path: str | os.PathLike[str],
                           qc_path: str | os.PathLike[str], bundle_dir: str | os.PathLike[str],
                           facts_path: str | os.PathLike[str]) -> dict[str, Any]:
    """Labelled VCF + reference -> splits.tsv, qc.json, the variant_effect bundle and the card's facts."""
    source = os.fspath(vcf_path)
    reference = Reference(fasta_path)
    table = read_variants(vcf_path, reference, options)
    checked = table.n_alleles - table.dropped.get("unknown_contig", 0) - table.dropped.get("ref_mismatch", 0)
    steps = [FilterStep("contig and REF check", "alleles", table.n_alleles, checked,
                        f"ref_mismatch: {options.ref_mismatch}",
                        f"{table.dropped.get('ref_mismatch', 0)} REF mismatches, "
                        f"{table.dropped.get('unknown_contig', 0)} on contigs not in the reference"),
             FilterStep(f"label ({options.label_field} in label_map)", "checked alleles", checked,
                        len(table.variants))]
    console(summary_line(dataset_id, steps))
    if table.ref_mismatches:
        console(f"{dataset_id}: {table.dropped['ref_mismatch']} REF mismatch(es) dropped, e.g. "
                + "; ".join(table.ref_mismatches))
    guard(source, steps, "alleles", options.min_fraction_kept)
    if not table.variants:
        raise InputError(source, f"no variant left with a label in params.label_map ({options.label_field})")
    variants = table.variants
    ids = [v.id for v in variants]
    splits = make_splits(ids, split_options, lambda name: column_values(variants, name, source), source)
    checks = [leak.cross_split_duplicates(
        leak.variant_keys([v.chrom for v in variants], [v.pos for v in variants], [v.ref for v in variants],
                          [v.alt for v in variants]), ids, splits, "the same variant")]
    if split_options.group_by:
        checks.append(leak.groups_crossing(column_values(variants, split_options.group_by, source), ids, splits,
                                           f"{split_options.group_by} groups"))
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
        bundle_dir, "variant_effect", dataset_id=dataset_id,
        inputs=[f"{side}_{scheme}" for scheme in options.tokenizers for side in ("ref", "alt")],
        target=f"y: INFO {options.label_field} mapped by params.label_map (1 = pathogenic side, 0 = benign side)",
        metric="balanced_accuracy", split_file="../../splits.tsv",
        files=[bundle_dir / name for name in VARIANT_EFFECT_FILES if name != "task.yaml"],
        extra={"label_map": dict(options.label_map), "window_width": options.width,
               "window_rule": "(width - 1) // 2 bases before the variant's first base; the alt window keeps the width",
               "tokenizers": list(options.tokenizers), "counts": counts,
               "dropped_from_eval": int(drop.sum()) if drop is not None else 0})
    qc = {"variants": table.qc(), "splits": split_summary(splits, [str(v.label) for v in variants]),
          "split_rule": split_options.describe(), "leakage": report.as_dict()}
    write_json(qc, qc_path)
    facts = {"n_variants": len(variants), "n_records": table.n_records, "splits": qc["splits"]["n"],
             "preprocessing": {"software": package_versions(SOFTWARE),
                               "windows": f"width {options.width}, circular contigs {list(options.circular)}",
                               "labels": f"INFO {options.label_field} through params.label_map",
                               "split": split_options.describe(), "task": task["task"]}}
    write_json(facts, facts_path)
    return facts


def variant_effect_baseline(dataset_id: str, options: VariantEffectOptions, tasks: TaskOptions,
                            bundle_dir: str | os.PathLike[str], out_path: str | os.PathLike[str]) -> dict[str, Any]:
    """Logistic regression on the alt - ref k-mer count difference (``kmer_counts`` must be a tokenizer)."""
    if "kmer_counts" not in options.tokenizers:
        raise InputError(dataset_id, "the variant_effect baseline needs 'kmer_counts' in params.tokenizers",
                         record="params.tokenizers")
    bundle_dir = Path(bundle_dir)
    data = {s: bundle.load_arrays(bundle_dir / f"{s}.npz") for s in ("train", "test")}

    def difference(arrays: dict[str, Any]) -> Any:
        return (arrays["alt_kmer_counts"] - arrays["ref_kmer_counts"]).astype(np.float64)

    result = baselines.classification_baseline(
        difference(data["train"]), data["train"]["y"], difference(data["test"]), data["test"]["y"],
        seed=tasks.seed, margin=tasks.leakage_margin,
        features=f"alt - ref {options.kmer_k}-mer counts of the {options.width}-base windows")
    return finish_baseline(result, out_path, str(bundle_dir / "baseline.json"), dataset_id)


def finish_baseline(result: dict[str, Any], out_path: str | os.PathLike[str], source: str,
                    dataset_id: str) -> dict[str, Any]:
    """Say the scores, raise the leakage alarm (one line) or write baseline.json."""
    metric = result["metric"]
    console(f"{dataset_id}: baseline {metric} {result['real'][metric]:.3f}, shuffled labels "
            f"{result['shuffled_labels'][metric]:.3f}"
            + (f", majority-class rate {result['majority_class_rate']:.3f}" if "majority_class_rate" in result else ""))
    if not result["learnable"]:
        console(f"{dataset_id}: warning: the baseline does not beat its shuffled-label control")
    baselines.check_alarm(result, source)
    write_json(result, out_path)
    return result
