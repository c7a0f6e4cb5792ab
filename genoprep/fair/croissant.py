"""``croissant.json``: a dataset folder described in MLCommons Croissant 1.0 (JSON-LD).

- ``distribution``: one ``cr:FileObject`` per artifact listed in the completed card
  (``computed.artifacts_sha256``) and for ``card.yaml`` itself, each with its ``sha256``,
  size and media type; ``contentUrl`` is the file name, relative to the dataset folder.
- ``recordSet``: one ``cr:RecordSet`` per table: the sample table (``obs.tsv`` /
  ``samples.tsv``), ``features.tsv`` (the matrix's columns), ``variants.parquet``, the
  token and k-mer tables; one ``cr:Field`` per column with its data type (list columns,
  such as ``input_ids``, are ``repeated``).
- Matrices (``X.npy``, ``dosage.npy``, ``tokens_*.npy``, ``kmers_k*.npz``): Croissant 1.0
  has no array record sets that readers load from NumPy files, so each is a FileObject with
  the extra properties ``genoprep:shape``, ``genoprep:dtype``, ``genoprep:rows`` and
  ``genoprep:columns`` (the record sets naming its rows and columns).
- license, ``citeAs`` (the card's ``citation``, else ``reference``), ``keywords``.
- genomics provenance Croissant has no property for, in the ``genoprep:`` namespace
  (``urn:genoprep:``; JSON values are ``@json`` literals): ``modality``, ``organism``,
  ``tissue``, ``technology``, ``inputs`` (path, url, format, sha256), ``referenceBuild``,
  ``tokenizers``, ``dictionaries``, ``splitMethod``, ``software``, ``preprocessing``; on a
  Parquet FileObject, ``tableMetadata``: the ``genoprep.*`` key-value metadata the file
  carries (a token table's scheme and parameters, dictionary hashes included).
  Each is present only when the card gives it (docs/fair.md lists where each comes from).

No ``datePublished``: the file must not depend on when it was made (two runs give the same
bytes), so mlcroissant warns that it is missing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from genoprep.fair.artifacts import ArtifactInfo, describe_artifacts
from genoprep.provenance import file_sha256

CONFORMS_TO = "http://mlcommons.org/croissant/1.0"
GENOPREP_NS = "urn:genoprep:"

#: genoprep properties whose values are JSON objects (kept as @json literals)
JSON_PROPERTIES = ("inputs", "tokenizers", "dictionaries", "splitMethod", "software", "preprocessing", "tableMetadata")

#: the standard Croissant 1.0 @context (as mlcroissant writes it), plus the genoprep terms
CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
    "genoprep": GENOPREP_NS,
    **{f"genoprep:{name}": {"@id": f"genoprep:{name}", "@type": "@json"} for name in JSON_PROPERTIES},
}

#: card keys (anywhere in input/params/computed) that name the reference genome build
REFERENCE_BUILD_KEYS = ("reference_build", "genome_build", "assembly", "reference_genome")
#: computed/params keys that describe how the rows were split into train/validation/test
SPLIT_KEYS = ("split", "splits", "split_method")
#: computed keys that describe token dictionaries / vocabularies (scRNA-seq tokenizers)
DICTIONARY_KEYS = ("dictionaries", "dictionary", "vocabulary", "vocabularies", "token_dictionary")

_SPDX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+-]*$")

ROW_WORDS = {"scrna": "cell", "bulk": "sample", "dna": "sequence", "variants": "sample", "variant_effect": "variant"}


def license_url(license_text: str) -> str:
    """An SPDX identifier as its spdx.org URL; any other text as it is."""
    return f"https://spdx.org/licenses/{license_text}.html" if _SPDX.match(license_text) else license_text


def _find_key(data: Any, keys: Iterable[str]) -> Any:
    """The value of the first of ``keys`` found in nested mappings (depth first, in order)."""
    keys = tuple(keys)
    if isinstance(data, Mapping):
        for key in keys:
            if key in data and data[key] not in (None, "", {}, []):
                return data[key]
        for value in data.values():
            found = _find_key(value, keys)
            if found is not None:
                return found
    return None


def genomics_provenance(card: Mapping[str, Any]) -> dict[str, Any]:
    """The genoprep: properties of the dataset node (only those the card gives)."""
    computed = card.get("computed", {}) or {}
    params = card.get("params", {}) or {}
    entries = [card["input"]] if "input" in card else list(card.get("inputs", []))
    inputs = [
        {key: entry[key] for key in ("path", "url", "format", "label", "sha256") if key in entry} for entry in entries
    ]
    if card.get("metadata"):
        meta = card["metadata"]
        inputs.append({"role": "metadata", **{k: meta[k] for k in ("path", "format", "sha256") if k in meta}})
    preprocessing = {k: v for k, v in (computed.get("preprocessing") or {}).items() if k != "software"}
    properties: dict[str, Any] = {
        "modality": card.get("modality"),
        "organism": card.get("organism"),
        "tissue": card.get("tissue"),
        "technology": card.get("technology"),
        "inputs": inputs,
        "referenceBuild": _find_key({"input": entries, "params": params, "computed": computed}, REFERENCE_BUILD_KEYS),
        "tokenizers": computed.get("tokenizers") or computed.get("tokens"),
        "dictionaries": _find_key(computed, DICTIONARY_KEYS),
        "splitMethod": _find_key({"computed": computed, "params": params}, SPLIT_KEYS),
        "software": (computed.get("preprocessing") or {}).get("software"),
        "preprocessing": preprocessing or None,
    }
    return {f"genoprep:{k}": v for k, v in properties.items() if v not in (None, "", [], {})}


def _file_object(folder: Path, info: ArtifactInfo, sha256: str, record_set_ids: Mapping[str, str]) -> dict[str, Any]:
    node: dict[str, Any] = {
        "@type": "cr:FileObject",
        "@id": info.name,
        "name": info.name,
        "contentUrl": info.name,
        "contentSize": f"{os.path.getsize(folder / info.name)} B",
        "encodingFormat": info.media_type,
        "sha256": sha256,
    }
    if info.provenance:
        node["genoprep:tableMetadata"] = info.provenance
    if info.kind == "array":
        if info.shape is not None:
            node["genoprep:shape"] = list(info.shape)
        if info.dtype is not None:
            node["genoprep:dtype"] = info.dtype
        if info.rows_table:
            node["genoprep:rows"] = {"@id": record_set_ids[info.rows_table]}
        if info.columns_table:
            node["genoprep:columns"] = {"@id": record_set_ids[info.columns_table]}
    return node


def _record_set(info: ArtifactInfo, record_set_id: str, description: str) -> dict[str, Any]:
    fields = []
    for column in info.columns:
        extract = {"fileProperty": "lines"} if info.kind == "lines" else {"column": column.name}
        node: dict[str, Any] = {
            "@type": "cr:Field",
            "@id": f"{record_set_id}/{column.name}",
            "name": column.name,
            "dataType": column.data_type,
            "source": {"fileObject": {"@id": info.name}, "extract": extract},
        }
        if column.repeated:
            node["repeated"] = True
        fields.append(node)
    return {
        "@type": "cr:RecordSet",
        "@id": record_set_id,
        "name": record_set_id,
        "description": description,
        "field": fields,
    }


def _record_set_description(info: ArtifactInfo, infos: Mapping[str, ArtifactInfo], row_word: str) -> str:
    rows = f"{info.n_rows} rows" if info.n_rows is not None else "rows"
    described = [a.name for a in infos.values() if a.rows_table == info.name]
    columns_of = [a.name for a in infos.values() if a.columns_table == info.name]
    parts = [f"{info.name}: {rows}"]
    if described:
        parts.append(f"one per {row_word}, in the row order of {', '.join(described)}")
    if columns_of:
        parts.append(f"one per column of {', '.join(columns_of)}, in order")
    return "; ".join(parts)


def croissant_metadata(
    folder: str | Path, card: Mapping[str, Any], artifacts_sha256: Mapping[str, str], card_name: str = "card.yaml"
) -> dict[str, Any]:
    """The Croissant JSON-LD of a finished dataset folder.

    Args:
        folder: the dataset folder (``OUT/<dataset_id>``).
        card: the completed card (``card.yaml`` as loaded).
        artifacts_sha256: the card's ``computed.artifacts_sha256`` (file name -> digest).
        card_name: the completed card's file name in ``folder`` (described as a file too).
    """
    folder = Path(folder)
    names = list(artifacts_sha256)
    infos = describe_artifacts(folder, names + [card_name])
    digests = {**artifacts_sha256, card_name: file_sha256(folder / card_name)}
    tables = [info for info in infos.values() if info.kind in ("table", "lines")]
    record_set_ids = {info.name: info.stem for info in tables}
    if len(set(record_set_ids.values())) != len(record_set_ids):  # e.g. x.tsv beside x.parquet
        record_set_ids = {info.name: info.name.replace("/", "_").replace(".", "_") for info in tables}
    row_word = ROW_WORDS.get(str(card.get("modality")), "row")
    keywords = [str(card[k]) for k in ("modality", "organism", "tissue", "technology") if card.get(k)]
    metadata: dict[str, Any] = {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "name": str(card["dataset_id"]),
        "description": " ".join(str(card.get("description") or card.get("name") or card["dataset_id"]).split()),
        "conformsTo": CONFORMS_TO,
        "alternateName": str(card.get("name", card["dataset_id"])),
    }
    if card.get("license"):
        metadata["license"] = license_url(str(card["license"]))
    cite = card.get("citation") or card.get("reference")
    if cite:
        metadata["citeAs"] = str(cite)
    if keywords:
        metadata["keywords"] = keywords
    if isinstance(card.get("provenance"), str):
        metadata["genoprep:provenanceNote"] = card["provenance"]
    elif isinstance(card.get("provenance"), Mapping):
        metadata["genoprep:provenanceNote"] = "; ".join(f"{k}: {v}" for k, v in card["provenance"].items())
    metadata.update(genomics_provenance(card))
    if "genoprep:tokenizers" not in metadata:  # token tables that carry their scheme and parameters
        carried = {name: info.provenance for name, info in infos.items() if info.provenance}
        if carried:
            metadata["genoprep:tokenizers"] = carried
    metadata["distribution"] = [
        _file_object(folder, info, digests[name], record_set_ids) for name, info in infos.items()
    ]
    metadata["recordSet"] = [
        _record_set(info, record_set_ids[info.name], _record_set_description(info, infos, row_word)) for info in tables
    ]
    return metadata
