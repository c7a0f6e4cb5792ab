"""The DNA workflow steps: a card's inputs -> QC tables -> one artifact per tokenization scheme.

Each function here is one rule of ``rules/dna.smk`` (its script in ``scripts/`` only reads
Snakemake's inputs and calls it). Every step reads the card's input files itself, streaming
(:func:`card_records`): records are never all in memory, and no genome-sized intermediate
file is written. ``dna_ingest`` runs first and validates everything (sequences, labels,
checksums); the token steps wait for its ``qc.json``, so a bad input stops the run with one
error line before any token file is written.

Artifacts per dataset (:func:`artifact_names`): ``obs.tsv``, ``qc.json`` and, per scheme
of ``params.tokenizers``:

============================  ==========================================================
``char``, ``hyenadna``        ``tokens_<scheme>.npy`` (int32, sequences x max_len)
``dnabert``,                  ``tokens_<scheme>.parquet`` (id, label, length, input_ids)
``nucleotide_transformer``
``kmer_counts``               ``kmers_k<k>.npz`` (scipy CSR, int32) + ``kmers_k<k>.tsv``
``kmer_tokenize``             ``tokens_kmer_tokenize.tsv`` (sequence = k-mer text, label, id)
============================  ==========================================================

Rows of every artifact are the records in input order (inputs in card order, then file
order), the same order as ``obs.tsv``.
"""

from __future__ import annotations

import csv
import json
import platform
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

import genoprep
from genoprep.errors import InputError
from genoprep.jsonio import write_json
from genoprep.provenance import package_versions, verify_sha256

from .alphabet import IUPAC_NUCLEOTIDES
from .ingest import FASTA_SUFFIXES, TABLE_DELIMITERS, DnaRecord, label_from_header, read_fasta, read_sequence_table
from .io import write_fixed_tokens, write_kmer_counts, write_variable_tokens
from .qc import dataset_qc
from .tokenize import get_scheme, kmer_names, kmer_text

#: Output kind of each scheme a card may name (``kmer_tokenize`` is the k-mer text output).
SCHEME_NAMES = ("char", "kmer_counts", "dnabert", "nucleotide_transformer", "hyenadna", "kmer_tokenize")
FIXED_SCHEMES = ("char", "hyenadna")
VARIABLE_SCHEMES = ("dnabert", "nucleotide_transformer")
SOFTWARE = ("numpy", "scipy", "pyarrow", "biopython")
OBS_COLUMNS = ("id", "label", "length", "gc", "n_fraction")


# ----------------------------------------------------------------- reading a card's inputs


def input_format(entry: Mapping[str, Any], path: str | Path) -> str:
    """``fasta`` or ``table``: the entry's ``format``, else from the file suffix (``.gz`` ignored)."""
    if entry.get("format"):
        return str(entry["format"])
    suffixes = [s.lower() for s in Path(path).suffixes if s.lower() != ".gz"]
    suffix = suffixes[-1] if suffixes else ""
    if suffix in FASTA_SUFFIXES:
        return "fasta"
    if suffix in TABLE_DELIMITERS:
        return "table"
    raise InputError(str(path), f"cannot tell the format from the suffix {suffix!r}; set input format: fasta|table")


def card_records(card: Mapping[str, Any], paths: Sequence[str | Path], *, as_bytes: bool = False) -> Iterator[DnaRecord]:
    """Stream the labelled records of a card's inputs, in card order, validated.

    Args:
        card: the validated card (defaults filled in).
        paths: the input paths in card order (``input`` or each of ``inputs``), as the
            workflow resolved them.
        as_bytes: FASTA sequences as ASCII bytes (what the tokenizers work on).

    Labels come from the entry's ``label`` (one file per class), a table's label column
    (``columns.label``), or the entry's ``label_regex`` over FASTA headers (first capture
    group, optionally renamed by ``label_map``).
    """
    for entry, path in zip(input_entries(card), paths, strict=True):
        yield from entry_records(entry, path, card.get("columns", {}), as_bytes=as_bytes)


def input_entries(card: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The card's ``input``, or each of its ``inputs``, in card order."""
    return [card["input"]] if "input" in card else list(card["inputs"])


def entry_records(entry: Mapping[str, Any], path: str | Path, columns: Mapping[str, Any], *,
                  as_bytes: bool = False) -> Iterator[DnaRecord]:
    """Stream the labelled records of one input file (see :func:`card_records`)."""
    source = str(path)
    if input_format(entry, path) == "fasta":
        records: Iterator[DnaRecord] = read_fasta(path, label=entry.get("label"), as_bytes=as_bytes)
        if entry.get("label_regex"):
            records = label_from_header(
                records, entry["label_regex"], source=source, label_map=entry.get("label_map"),
                on_unmatched=entry.get("unmatched_label", "error"),
            )
        return records
    records = read_sequence_table(
        path, sequence_column=columns.get("sequence", "sequence"), label_column=columns.get("label"),
        id_column=columns.get("id"), delimiter=entry.get("delimiter"),
    )
    if entry.get("label") is not None:
        return (record._replace(label=entry["label"]) for record in records)
    return records


def scheme_settings(params: Mapping[str, Any], scheme: str) -> dict[str, Any]:
    """The card's settings of one scheme (schema defaults filled in)."""
    return dict(params.get(scheme, {}))


def artifact_names(card: Any) -> list[str]:
    """File names of the artifacts the card's schemes produce (``ARTIFACTS["dna"]``).

    ``card`` is a :class:`genoprep.cards.Card` or its ``params`` mapping.
    """
    params = card.params if hasattr(card, "params") else card
    names = ["obs.tsv", "qc.json"]
    for scheme in params["tokenizers"]:
        if scheme in FIXED_SCHEMES:
            names.append(f"tokens_{scheme}.npy")
        elif scheme in VARIABLE_SCHEMES:
            names.append(f"tokens_{scheme}.parquet")
        elif scheme == "kmer_counts":
            k = params["kmer_counts"]["k"]
            names += [f"kmers_k{k}.npz", f"kmers_k{k}.tsv"]
        elif scheme == "kmer_tokenize":
            names.append("tokens_kmer_tokenize.tsv")
        else:  # pragma: no cover - the card schema lists the schemes
            raise ValueError(f"unknown DNA scheme {scheme!r}")
    return names


# ----------------------------------------------------------------- rule dna_ingest


def _tsv_writer(handle: Any) -> Any:
    return csv.writer(handle, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)


def ingest(card: Mapping[str, Any], paths: Sequence[str | Path], obs_path: str | Path, qc_path: str | Path) -> dict:
    """Rule ``dna_ingest``: check every input, write ``obs.tsv`` and ``qc.json`` in one pass.

    ``obs.tsv`` has one row per sequence: id, label (empty when unlabelled), length, gc
    (GC fraction of the A/C/G/T bases, empty when there are none) and n_fraction (share of
    letters that are not A/C/G/T). ``qc.json`` is :func:`genoprep.dna.qc.dataset_qc` plus
    the input file names and their record counts.
    """
    entries = input_entries(card)
    for entry, path in zip(entries, paths, strict=True):
        verify_sha256(path, entry.get("sha256"))
    per_file: list[dict[str, Any]] = []
    with open(obs_path, "w", encoding="utf-8", newline="") as handle:
        writer = _tsv_writer(handle)
        writer.writerow(OBS_COLUMNS)

        def observe(record: DnaRecord, stats: dict[str, Any]) -> None:
            gc = stats["gc_fraction"]
            writer.writerow((record.id, "" if record.label is None else record.label, stats["length"],
                             "" if gc is None else repr(gc), repr(stats["n_fraction"])))

        def counted() -> Iterator[DnaRecord]:
            for entry, path in zip(entries, paths, strict=True):
                per_file.append({"file": Path(path).name, "label": entry.get("label"), "n_sequences": 0})
                for record in entry_records(entry, path, card.get("columns", {}), as_bytes=True):
                    per_file[-1]["n_sequences"] += 1
                    yield record

        qc = dataset_qc(counted(), observe=observe)
    if qc["n_sequences"] == 0:
        raise InputError(", ".join(str(p) for p in paths), "no sequences in the input")
    report = {"inputs": per_file, **qc}
    write_json(report, qc_path)
    return report


# ----------------------------------------------------------------- token rules


def write_scheme_tokens(card: Mapping[str, Any], paths: Sequence[str | Path], scheme: str,
                        out_path: str | Path) -> dict[str, Any]:
    """Rules ``dna_tokens_fixed`` / ``dna_tokens_variable``: one token artifact, streamed."""
    settings = scheme_settings(card["params"], scheme)
    records = card_records(card, paths, as_bytes=True)
    if scheme in FIXED_SCHEMES:
        return write_fixed_tokens(records, out_path, scheme, **settings)
    if scheme in VARIABLE_SCHEMES:
        return write_variable_tokens(records, out_path, scheme, **settings)
    raise ValueError(f"scheme {scheme!r} has no token table")


def write_kmer_table(card: Mapping[str, Any], paths: Sequence[str | Path], npz_path: str | Path,
                     names_path: str | Path) -> dict[str, Any]:
    """Rule ``dna_kmer_counts``: the sequences x k-mers CSR matrix and its column names."""
    settings = scheme_settings(card["params"], "kmer_counts")
    summary = write_kmer_counts(card_records(card, paths, as_bytes=True), npz_path, **settings)
    with open(names_path, "w", encoding="utf-8", newline="") as handle:
        writer = _tsv_writer(handle)
        writer.writerow(("column", "kmer"))
        writer.writerows(enumerate(kmer_names(settings["k"], settings["canonical"])))
    return summary


def write_kmer_text(card: Mapping[str, Any], paths: Sequence[str | Path], out_path: str | Path) -> int:
    """Rule ``dna_kmer_text``: the spec's ``kmer_tokenize`` as text, one sequence per row.

    Columns ``sequence`` (the upper-cased sequence's k-mers joined by spaces: DNABERT's input
    format), ``label`` and ``id``; DNABERT's data processors read the first two columns.
    """
    settings = scheme_settings(card["params"], "kmer_tokenize")
    n = 0
    with open(out_path, "w", encoding="utf-8", newline="") as handle:
        writer = _tsv_writer(handle)
        writer.writerow(("sequence", "label", "id"))
        for record in card_records(card, paths):
            text = kmer_text(str(record.sequence).upper(), settings["k"], settings["stride"])
            writer.writerow((text, "" if record.label is None else record.label, record.id))
            n += 1
    return n


# ----------------------------------------------------------------- rule dna_facts


def _vocab_size(scheme: str, settings: Mapping[str, Any]) -> int:
    return len(get_scheme(scheme).vocabulary(**settings))


_DESCRIPTIONS = {
    "char": "one id per base (A=0 C=1 G=2 T=3 N=4 <PAD>=5; other IUPAC codes -> N), "
            "padded/truncated to max_len={max_len} (truncation side: {truncation})",
    "hyenadna": "HyenaDNA CharacterTokenizer ids ([PAD]=4 [SEP]=1 [UNK]=6 A=7 C=8 G=9 T=10 N=11), "
                "[SEP] appended, left-padded to max_len={max_len} (truncation side: {truncation})",
    "dnabert": "DNABERT overlapping {k}-mers (stride 1), [CLS] ... [SEP], k-mers with non-ACGT -> [UNK]",
    "nucleotide_transformer": "Nucleotide Transformer v2 non-overlapping {k}-mers from the left, split at N, "
                              "leftover bases as single tokens, <cls> prepended",
    "kmer_counts": "overlapping {k}-mer counts (stride 1, k-mers with non-ACGT skipped, canonical={canonical})",
    "kmer_tokenize": "space-separated {k}-mers with stride {stride} (upper-cased)",
}


def facts(card: Mapping[str, Any], qc_path: str | Path, artifacts: Sequence[str | Path]) -> dict[str, Any]:
    """Rule ``dna_facts``: what the completed card records, read back from the artifacts."""
    qc = json.loads(Path(qc_path).read_text(encoding="utf-8"))
    params = card["params"]
    by_name = {Path(p).name: Path(p) for p in artifacts}
    tokenizers: dict[str, Any] = {}
    for scheme in params["tokenizers"]:
        settings = scheme_settings(params, scheme)
        entry: dict[str, Any] = {"params": settings}
        if scheme in FIXED_SCHEMES:
            name = f"tokens_{scheme}.npy"
            shape = np.load(by_name[name], mmap_mode="r").shape
            lengths = np.asarray(_obs_lengths(by_name["obs.tsv"]))
            capacity = settings["max_len"] - (1 if scheme == "hyenadna" else 0)
            entry.update(artifact=name, shape=list(shape), vocab_size=_vocab_size(scheme, settings),
                         n_truncated=int((lengths > capacity).sum()))
        elif scheme in VARIABLE_SCHEMES:
            name = f"tokens_{scheme}.parquet"
            n_tokens = 0
            parquet = pq.ParquetFile(by_name[name])
            for batch in parquet.iter_batches(columns=["input_ids"]):
                n_tokens += int(pc.sum(pc.list_value_length(batch.column(0))).as_py() or 0)
            entry.update(artifact=name, n_sequences=parquet.metadata.num_rows, n_tokens=n_tokens,
                         vocab_size=_vocab_size(scheme, settings))
        elif scheme == "kmer_counts":
            name = f"kmers_k{settings['k']}.npz"
            with np.load(by_name[name]) as npz:  # the CSR's shape and nnz, without loading it
                shape, nnz = [int(n) for n in npz["shape"]], int(npz["indptr"][-1])
            entry.update(artifact=name, columns=f"kmers_k{settings['k']}.tsv", shape=shape, nnz=nnz,
                         vocab_size=shape[1])
        else:
            entry.update(artifact="tokens_kmer_tokenize.tsv", vocab_size=4 ** settings["k"])
        entry["description"] = _DESCRIPTIONS[scheme].format(**settings)
        tokenizers[scheme] = entry
    return {
        "n_sequences": qc["n_sequences"],
        "n_bases": qc["n_bases"],
        "class_counts": qc["class_counts"],
        "n_unlabelled": qc["n_unlabelled"],
        "n_duplicate_groups": qc["duplicates"]["n_groups"],
        "n_label_conflicts": qc["label_conflicts"]["n_groups"],
        "tokenizers": tokenizers,
        "preprocessing": {
            "software": {"genoprep": genoprep.__version__, "python": platform.python_version(),
                         **package_versions(SOFTWARE)},
            "ingest": f"FASTA/sequence tables read and validated (IUPAC {IUPAC_NUCLEOTIDES}, either case); "
                      "record id = whole header line; k-mer rows of tables reassembled",
            "case": "soft-masked (lower-case) bases upper-cased by every scheme",
            "order": "rows of every artifact follow obs.tsv (inputs in card order, records in file order)",
        },
    }


def _obs_lengths(path: Path) -> list[int]:
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t")
        column = next(reader).index("length")
        return [int(row[column]) for row in reader]


__all__ = [
    "SCHEME_NAMES",
    "artifact_names",
    "card_records",
    "facts",
    "ingest",
    "input_format",
    "write_kmer_table",
    "write_kmer_text",
    "write_scheme_tokens",
]
