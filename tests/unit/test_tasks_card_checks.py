"""What a card asks of the task layer is checked when the card is loaded, not when the job graph
is built (a task its modality does not build, tasks without splits, missing k-mer counts)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from genoprep.cards import CardError, load_card, load_schema
from genoprep.tasks.params import MODALITY_TASKS
from genoprep.tasks.steps import BUNDLE_FILES

INPUTS = {
    "scrna": {"input": {"path": "x.h5ad", "format": "h5ad"}},
    "bulk": {"input": {"path": "x.tsv", "format": "tsv"}},
    "dna": {"input": {"path": "x.csv", "format": "table"}, "columns": {"label": "label"}},
    "variants": {"input": {"path": "x.vcf.gz", "format": "vcf"}},
    "variant_effect": {
        "inputs": [{"path": "v.vcf", "role": "variants"}, {"path": "r.fa", "role": "reference"}],
    },
}


def card_file(tmp_path: Path, modality: str, **params) -> Path:
    card = {"dataset_id": "d1", "name": "n", "modality": modality, **INPUTS[modality], "params": params}
    path = tmp_path / "d1.yaml"
    path.write_text(yaml.safe_dump(card), encoding="utf-8")
    return path


def refusal(path: Path) -> str:
    with pytest.raises(CardError) as caught:
        load_card(path)
    line = str(caught.value)
    assert "\n" not in line and line.startswith(f"{path}: ")
    return line.removeprefix(f"{path}: ")


def test_every_task_of_the_schema_is_built_by_some_modality() -> None:
    enum = load_schema("common_params.schema.yaml")["properties"]["tasks"]["properties"]["names"]["items"]["enum"]
    offered = {task for tasks in MODALITY_TASKS.values() for task in tasks}
    assert offered == set(enum)
    # the bundles built from a modality's artifacts, plus variant_effect (a modality of its own)
    assert offered == {*BUNDLE_FILES, "variant_effect"}


@pytest.mark.parametrize(
    ("modality", "task"),
    [
        ("dna", "cell_type_annotation"),
        ("dna", "gene_expression_prediction"),
        ("scrna", "sequence_classification"),
        ("bulk", "sequence_classification"),
        ("variants", "cell_type_annotation"),
        ("scrna", "variant_effect"),
    ],
)
def test_a_task_the_modality_does_not_build_is_refused(tmp_path: Path, modality: str, task: str) -> None:
    params = {"split": {"enabled": True}, "tasks": {"names": [task]}}
    if modality == "dna":
        params["tokenizers"] = ["char", "kmer_counts"]
    problem = refusal(card_file(tmp_path, modality, **params))
    assert problem.startswith(f"params.tasks.names: task '{task}' is not built for {modality} datasets")
    for built in MODALITY_TASKS[modality]:
        assert built in problem


@pytest.mark.parametrize("modality", ["scrna", "bulk", "dna"])
def test_tasks_without_splits_are_refused_not_silently_skipped(tmp_path: Path, modality: str) -> None:
    task = MODALITY_TASKS[modality][-1]
    extra = {"tokenizers": ["char", "kmer_counts"]} if modality == "dna" else {}
    problem = refusal(card_file(tmp_path, modality, tasks={"names": [task]}, **extra))
    assert problem == (
        f"params.split.enabled: params.tasks.names asks for {task} but params.split.enabled is false: "
        "task bundles are built from the split"
    )


def test_sequence_classification_needs_kmer_counts(tmp_path: Path) -> None:
    path = card_file(
        tmp_path, "dna", tokenizers=["char"], split={"enabled": True}, tasks={"names": ["sequence_classification"]}
    )
    assert refusal(path) == (
        "params.tokenizers: sequence_classification reads k-mer counts: add 'kmer_counts' to params.tokenizers"
    )


def test_variant_effect_needs_splits_and_the_baseline_needs_kmer_counts(tmp_path: Path) -> None:
    assert refusal(card_file(tmp_path, "variant_effect", split={"enabled": False})).startswith(
        "params.split.enabled: a variant_effect dataset is a task bundle"
    )
    assert refusal(card_file(tmp_path, "variant_effect", split={"enabled": True}, tokenizers=["char"])) == (
        "params.tokenizers: the variant_effect baseline (params.tasks.baseline) reads k-mer counts: "
        "add 'kmer_counts' to params.tokenizers"
    )
    # without the baseline, k-mer counts are not needed
    load_card(
        card_file(tmp_path, "variant_effect", split={"enabled": True}, tokenizers=["char"], tasks={"baseline": False})
    )


@pytest.mark.parametrize("modality", sorted(MODALITY_TASKS))
def test_every_task_a_modality_builds_is_accepted(tmp_path: Path, modality: str) -> None:
    params = {"split": {"enabled": True}, "tasks": {"names": list(MODALITY_TASKS[modality])}}
    if modality in ("dna", "variant_effect"):
        params["tokenizers"] = ["char", "kmer_counts"]
    if modality == "variant_effect":
        params["tasks"] = {}
    card = load_card(card_file(tmp_path, modality, **params))
    assert card.params["split"]["enabled"] is True
    # and a card without tasks or splits is what it was
    assert load_card(
        card_file(tmp_path, modality, **({"split": {"enabled": True}} if modality == "variant_effect" else {}))
    )
