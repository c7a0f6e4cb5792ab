"""``README.md``: a Hugging Face dataset card for a finished dataset folder.

The YAML header carries what the Hub and ``datasets`` read: ``license`` (a Hub license id,
or ``other`` with ``license_name``), ``pretty_name``, ``tags``, ``task_categories``,
``size_categories`` and ``configs``: one configuration per table (the Parquet files, and
the TSV tables with a header row, read with ``sep: "\\t"``), so that
``datasets.load_dataset("OUT/<dataset_id>", "<config>")`` loads it. Tables named
``<name>_<split>.<ext>`` (split: train, validation, test, dev) form one configuration with
those splits; any other table is one split, ``train`` (the Hub's name for all rows of an
unsplit table). The body says what each file is, how to load it and where the data came from.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from genoprep.fair.artifacts import ArtifactInfo, describe_artifacts, sample_table

#: license ids the Hub accepts as they are (lower case)
HUB_LICENSES = {
    "apache-2.0",
    "mit",
    "cc0-1.0",
    "cc-by-2.0",
    "cc-by-3.0",
    "cc-by-4.0",
    "cc-by-sa-3.0",
    "cc-by-sa-4.0",
    "cc-by-nc-2.0",
    "cc-by-nc-3.0",
    "cc-by-nc-4.0",
    "cc-by-nc-sa-4.0",
    "cc-by-nc-nd-4.0",
    "cc-by-nd-4.0",
    "bsd-2-clause",
    "bsd-3-clause",
    "gpl-2.0",
    "gpl-3.0",
    "lgpl-3.0",
    "agpl-3.0",
    "odbl",
    "odc-by",
    "pddl",
    "unlicense",
    "openrail",
    "unknown",
}
SPLIT_NAMES = ("train", "validation", "test", "dev")
#: task category per modality (the Hub's vocabulary)
TASK_CATEGORIES = {
    "scrna": ["tabular-classification"],
    "bulk": ["tabular-classification"],
    "dna": ["text-classification"],
    "variants": ["tabular-classification"],
    "variant_effect": ["tabular-classification"],
}
MODALITY_TAGS = {
    "scrna": ["single-cell", "scRNA-seq", "transcriptomics"],
    "bulk": ["bulk-RNA-seq", "transcriptomics"],
    "dna": ["DNA", "sequences"],
    "variants": ["genotypes", "VCF"],
    "variant_effect": ["variant-effect", "VCF"],
}
SIZE_BOUNDS = (
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
    (100_000_000, "10M<n<100M"),
)


def hub_license(license_text: str | None) -> dict[str, str]:
    """The card's license as the Hub's ``license`` (and ``license_name`` for others)."""
    if not license_text:
        return {"license": "unknown"}
    if license_text.lower() in HUB_LICENSES:
        return {"license": license_text.lower()}
    slug = re.sub(r"[^a-z0-9]+", "-", license_text.lower()).strip("-") or "custom"
    return {"license": "other", "license_name": slug}


def size_category(n_rows: int) -> str:
    for bound, label in SIZE_BOUNDS:
        if n_rows < bound:
            return label
    return "n>100M"


def _split_of(name: str) -> tuple[str, str]:
    """(config name, split) of a table file name."""
    stem = PurePosixPath(name).stem
    for split in SPLIT_NAMES:
        if stem.endswith(f"_{split}"):
            return stem[: -len(split) - 1], split
    return stem, "train"


def hf_configs(infos: Mapping[str, ArtifactInfo]) -> list[dict[str, Any]]:
    """The ``configs`` of the card: one per table of one format (split files grouped), the default first.

    ``datasets`` reads every configuration of a folder with one builder (chosen by the
    files' extension), so the configurations are the Parquet tables when there are any,
    else the TSV tables; the other tables are listed in the card's file table.
    """
    tables = [info for info in infos.values() if info.kind == "table"]
    suffix = ".parquet" if any(PurePosixPath(t.name).suffix == ".parquet" for t in tables) else ".tsv"
    groups: dict[str, list[tuple[str, ArtifactInfo]]] = {}
    for info in tables:
        if PurePosixPath(info.name).suffix == suffix:
            config, split = _split_of(info.name)
            groups.setdefault(config, []).append((split, info))
    configs = []
    for config_name in sorted(groups, key=lambda c: (not c.startswith("tokens"), c)):
        members = groups[config_name]
        entry: dict[str, Any] = {"config_name": config_name}
        if not configs:
            entry["default"] = True
        entry["data_files"] = [{"split": split, "path": info.name} for split, info in members]
        if PurePosixPath(members[0][1].name).suffix == ".tsv":
            entry["sep"] = "\t"
        configs.append(entry)
    return configs


def hf_header(card: Mapping[str, Any], infos: Mapping[str, ArtifactInfo]) -> dict[str, Any]:
    modality = str(card.get("modality"))
    n_rows = max([info.n_rows or 0 for info in infos.values() if info.kind == "table"] or [0])
    header: dict[str, Any] = {
        **hub_license(card.get("license")),
        "pretty_name": str(card.get("name", card["dataset_id"])),
        "tags": ["biology", "genomics", *MODALITY_TAGS.get(modality, []), "genoprep"],
        "task_categories": TASK_CATEGORIES.get(modality, ["other"]),
        "size_categories": [size_category(n_rows)],
        "configs": hf_configs(infos),
    }
    return header


def _files_table(infos: Mapping[str, ArtifactInfo], digests: Mapping[str, str]) -> list[str]:
    lines = ["| file | what | sha256 |", "|---|---|---|"]
    for name, info in infos.items():
        if info.kind == "array":
            what = f"array {'×'.join(str(n) for n in info.shape or ())} {info.dtype or ''}".strip()
            links = [
                f"rows: `{info.rows_table}`" if info.rows_table else "",
                f"columns: `{info.columns_table}`" if info.columns_table else "",
            ]
            what += "".join(f"; {link}" for link in links if link)
        elif info.kind in ("table", "lines"):
            what = f"table, {info.n_rows} rows: " + ", ".join(f"`{c.name}`" for c in info.columns)
        else:
            what = info.media_type
        lines.append(f"| `{name}` | {what} | `{digests.get(name, '')}` |")
    return lines


def hf_card(folder: str | Path, card: Mapping[str, Any], artifacts_sha256: Mapping[str, str]) -> str:
    """The text of ``README.md`` for a finished dataset folder."""
    folder = Path(folder)
    infos = describe_artifacts(folder, list(artifacts_sha256))
    header = hf_header(card, infos)
    dataset_id = str(card["dataset_id"])
    rows = sample_table(infos)
    body = [f"# {header['pretty_name']}", ""]
    if card.get("description"):
        body += [" ".join(str(card["description"]).split()), ""]
    facts = [
        (label, card.get(key))
        for label, key in (
            ("Modality", "modality"),
            ("Organism", "organism"),
            ("Tissue", "tissue"),
            ("Technology", "technology"),
            ("Reference", "reference"),
            ("Citation", "citation"),
            ("License", "license"),
        )
    ]
    body += [f"- **{label}**: {value}" for label, value in facts if value]
    body += [
        "",
        (
            "Prepared by genoprep: `card.yaml` is the completed dataset card (every parameter, the "
            "inputs' and artifacts' SHA-256, software versions); `croissant.json` describes the same files "
            "in MLCommons Croissant; `fair.sha256` pins `card.yaml`, `croissant.json` and this file "
            "(`sha256sum -c fair.sha256`, or `genoprep verify` for everything)."
        ),
        "",
    ]
    body += ["## Files", "", *_files_table(infos, artifacts_sha256), ""]
    body += ["## Loading", "", "```python", "from datasets import load_dataset", ""]
    for config in header["configs"]:
        body.append(f'{config["config_name"]} = load_dataset("path/to/{dataset_id}", "{config["config_name"]}")')
    body += ["```", ""]
    if any(info.kind == "array" for info in infos.values()):
        body += [
            "The matrices are NumPy files (`numpy.load`, or `scipy.sparse.load_npz` for `.npz`)"
            + (f"; their rows follow `{rows.name}`." if rows else "."),
            "",
        ]
    body += [
        (
            "Each configuration without a split in its file name has one split, `train`: the Hub's "
            "name for all rows of a table, not a training split."
        ),
        "",
    ]
    header_text = yaml.safe_dump(header, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)
    return f"---\n{header_text}---\n\n" + "\n".join(body).rstrip("\n") + "\n"
