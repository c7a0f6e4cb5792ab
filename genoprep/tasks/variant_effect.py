"""Variant effect prediction: labelled variants (VCF) + a reference FASTA -> ref/alt windows.

For each VCF record (one per ALT allele of a multi-allelic record):

1. **contig**: the VCF name, else an alias from ``contig_aliases`` (e.g. ``{chrM: MT}``),
   else (``match_chr_prefix``) the name with a ``chr`` prefix added or removed; a contig
   the reference does not have is dropped and counted (``unknown_contig``).
2. **REF check**: REF must equal the reference bases at ``POS..POS+len(REF)-1``
   (case-insensitive). A mismatch is counted and listed (``ref_mismatch``, the first
   examples with the reference's bases), then dropped (``ref_mismatch: drop``) or refused
   with one line (``ref_mismatch: error``).
3. **label**: the INFO field ``label_field`` (e.g. ``CLNSIG``) mapped by ``label_map``
   (e.g. Pathogenic, Likely_pathogenic -> 1; Benign, Likely_benign -> 0); values not in the
   map, and records without the field, are dropped and counted per value.
4. **windows** of ``width`` bases: ``left = (width - 1) // 2`` bases before the variant's
   first base, so the variant starts at index ``left`` of both windows. The reference window
   is ``ref[start : start + width]`` with ``start = POS - 1 - left``; the alternate window is
   the left flank, ALT, then the bases after REF, cut to ``width`` (an insertion pushes the
   right flank out, a deletion pulls more of it in: the width never changes). On a
   ``circular`` contig (``[MT]``) coordinates wrap around (position 0 is the contig's last
   base); on a linear contig a window running past an end is padded with ``N``.
5. **tokens** of both windows with the DNA schemes of :mod:`genoprep.dna.tokenize`.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from genoprep.dna import tokenize
from genoprep.errors import InputError
from genoprep.options import StepOptions
from genoprep.tasks.fasta import Reference
from genoprep.textio import iter_lines

N_EXAMPLES = 5
TOKENIZERS = ("char", "hyenadna", "dnabert", "nucleotide_transformer", "kmer_counts")


@dataclass(frozen=True)
class VariantEffectOptions(StepOptions):
    """The card's ``params`` of a ``variant_effect`` dataset (modality/variant_effect.schema.yaml)."""

    width: int
    label_field: str
    label_map: Mapping[str, int]
    ref_mismatch: str
    circular: tuple[str, ...]
    contig_aliases: Mapping[str, str]
    match_chr_prefix: bool
    tokenizers: tuple[str, ...]
    kmer_k: int
    dnabert_k: int
    region_bp: int
    min_fraction_kept: float


@dataclass
class Variant:
    """One labelled variant with its windows."""

    id: str
    chrom: str
    pos: int
    ref: str
    alt: str
    label_value: str
    label: int
    region: str
    ref_window: str = ""
    alt_window: str = ""


@dataclass
class VariantTable:
    """The kept variants and what was dropped, for qc.json."""

    variants: list[Variant]
    n_records: int = 0
    n_alleles: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    dropped_labels: dict[str, int] = field(default_factory=dict)
    ref_mismatches: list[str] = field(default_factory=list)
    contigs: dict[str, str] = field(default_factory=dict)
    n_wrapped: int = 0
    n_padded: int = 0

    def qc(self) -> dict[str, Any]:
        labels = Counter(v.label for v in self.variants)
        return {
            "n_records": self.n_records,
            "n_alleles": self.n_alleles,
            "n_variants": len(self.variants),
            "labels": {str(k): labels[k] for k in sorted(labels)},
            "dropped": self.dropped,
            "dropped_label_values": self.dropped_labels,
            "ref_mismatch_examples": self.ref_mismatches,
            "contigs": self.contigs,
            "n_windows_wrapped": self.n_wrapped,
            "n_windows_padded": self.n_padded,
        }


def parse_info(text: str) -> dict[str, str]:
    """INFO ``K=V;FLAG`` -> {K: V, FLAG: ""}."""
    if text in (".", ""):
        return {}
    out = {}
    for item in text.split(";"):
        key, _, value = item.partition("=")
        out[key] = value
    return out


def resolve_contig(name: str, reference: Reference, aliases: Mapping[str, str], match_chr_prefix: bool) -> str | None:
    """The reference's name for a VCF contig, or None."""
    lengths = reference.lengths
    if name in lengths:
        return name
    if name in aliases and aliases[name] in lengths:
        return aliases[name]
    if match_chr_prefix:
        other = name[3:] if name.lower().startswith("chr") else "chr" + name
        if other in lengths:
            return other
    return None


def fetch_window(reference: Reference, contig: str, start: int, width: int, circular: bool) -> tuple[str, str]:
    """``width`` bases from 0-based ``start`` (may be negative or run past the end).

    Returns ``(bases, how)`` with ``how`` one of ``inside``, ``wrapped`` (circular contig),
    ``padded`` (linear contig, ``N`` outside it).
    """
    length = reference.lengths[contig]
    end = start + width
    if start >= 0 and end <= length:
        return reference.fetch(contig, start, end), "inside"
    if circular:
        if width > length:
            raise ValueError(f"window width {width} exceeds the circular contig {contig} ({length} bp)")
        first = start % length
        if first + width <= length:
            return reference.fetch(contig, first, first + width), "wrapped"
        return reference.fetch(contig, first, length) + reference.fetch(contig, 0, first + width - length), "wrapped"
    left_pad = max(0, -start)
    right_pad = max(0, end - length)
    inside = reference.fetch(contig, max(start, 0), min(end, length)) if min(end, length) > max(start, 0) else ""
    return "N" * left_pad + inside + "N" * right_pad, "padded"


def variant_windows(
    reference: Reference, contig: str, pos: int, ref: str, alt: str, width: int, circular: bool
) -> tuple[str, str, str]:
    """(reference window, alternate window, how) for a variant at 1-based ``pos``."""
    left = (width - 1) // 2
    start = pos - 1 - left
    ref_window, how = fetch_window(reference, contig, start, width, circular)
    right_start = pos - 1 + len(ref)
    right, _ = fetch_window(reference, contig, right_start, width, circular)
    alt_window = (ref_window[:left] + alt.upper() + right)[:width]
    return ref_window, alt_window, how


def read_variants(
    vcf_path: str | os.PathLike[str], reference: Reference, options: VariantEffectOptions
) -> VariantTable:
    """Parse a (sites-only or not) VCF, check REF, map labels and cut windows; see the module docstring."""
    source = os.fspath(vcf_path)
    table = VariantTable(variants=[])
    dropped: Counter[str] = Counter()
    dropped_labels: Counter[str] = Counter()
    seen_ids: dict[str, int] = {}
    resolved: dict[str, str | None] = {}
    header_seen = False
    for number, line in iter_lines(vcf_path):
        if line.startswith("##") or not line.strip():
            continue
        if line.startswith("#"):
            header_seen = True
            continue
        if not header_seen:
            raise InputError(source, "a record before the #CHROM header line", record=f"line {number}")
        fields = line.split("\t")
        if len(fields) < 8:
            raise InputError(
                source, f"{len(fields)} tab-separated columns, a VCF record has at least 8", record=f"line {number}"
            )
        chrom, pos_text, vid, ref, alts, _, _, info_text = fields[:8]
        try:
            pos = int(pos_text)
        except ValueError:
            raise InputError(source, f"POS {pos_text!r} is not an integer", record=f"line {number}") from None
        table.n_records += 1
        if chrom not in resolved:
            resolved[chrom] = resolve_contig(chrom, reference, options.contig_aliases, options.match_chr_prefix)
            table.contigs[chrom] = resolved[chrom] or "not in the reference"
        contig = resolved[chrom]
        alt_list = alts.split(",")
        table.n_alleles += len(alt_list)
        record = f"line {number} ({chrom}:{pos} {ref}>{alts})"
        if contig is None:
            dropped["unknown_contig"] += len(alt_list)
            continue
        if not ref or not set(ref.upper()) <= set("ACGTN"):
            raise InputError(source, f"REF {ref!r} is not a DNA allele", record=record)
        if pos < 1 or pos - 1 + len(ref) > reference.lengths[contig]:
            raise InputError(source, f"POS is outside contig {contig} ({reference.lengths[contig]} bp)", record=record)
        expected = reference.fetch(contig, pos - 1, pos - 1 + len(ref))
        if expected != ref.upper():
            if options.ref_mismatch == "error":
                raise InputError(
                    source,
                    f"REF {ref} differs from the reference base(s) {expected} at {contig}:{pos} "
                    "(wrong reference build? params.ref_mismatch: drop counts and drops them)",
                    record=record,
                )
            dropped["ref_mismatch"] += len(alt_list)
            if len(table.ref_mismatches) < N_EXAMPLES:
                table.ref_mismatches.append(f"{chrom}:{pos} REF {ref}, reference {expected}")
            continue
        info = parse_info(info_text)
        value = info.get(options.label_field)
        for alt in alt_list:
            if not alt or not set(alt.upper()) <= set("ACGTN"):
                dropped["symbolic_or_missing_alt"] += 1
                continue
            if value is None:
                dropped["no_label_field"] += 1
                continue
            if value not in options.label_map:
                dropped["label_not_mapped"] += 1
                dropped_labels[value] += 1
                continue
            variant_id = vid if vid not in (".", "") else f"{chrom}:{pos}:{ref}:{alt}"
            if len(alt_list) > 1:
                variant_id = f"{variant_id}:{alt}"
            if variant_id in seen_ids:
                raise InputError(
                    source, f"variant id {variant_id} already used on line {seen_ids[variant_id]}", record=record
                )
            seen_ids[variant_id] = number
            ref_window, alt_window, how = variant_windows(
                reference, contig, pos, ref, alt, options.width, contig in options.circular
            )
            table.n_wrapped += how == "wrapped"
            table.n_padded += how == "padded"
            region = f"{contig}:{(pos - 1) // options.region_bp}"
            table.variants.append(
                Variant(
                    variant_id,
                    contig,
                    pos,
                    ref.upper(),
                    alt.upper(),
                    value,
                    int(options.label_map[value]),
                    region,
                    ref_window,
                    alt_window,
                )
            )
    if not header_seen:
        raise InputError(source, "no #CHROM header line: not a VCF")
    table.dropped = {k: dropped[k] for k in sorted(dropped)}
    table.dropped_labels = {k: dropped_labels[k] for k in sorted(dropped_labels)}
    return table


def encode_windows(windows: Sequence[str], scheme: str, options: VariantEffectOptions) -> Any:
    """Tokens of equal-width windows with one DNA scheme (array, CSR/array of counts, or (values, offsets))."""
    if scheme == "char":
        return tokenize.char_encode(windows, max_len=options.width)
    if scheme == "hyenadna":
        return tokenize.hyenadna_encode(windows, max_len=options.width + 1)
    if scheme == "dnabert":
        ragged = tokenize.dnabert_encode(windows, k=options.dnabert_k)
        return ragged.values, ragged.offsets
    if scheme == "nucleotide_transformer":
        ragged = tokenize.nucleotide_transformer_encode(windows)
        return ragged.values, ragged.offsets
    if scheme == "kmer_counts":
        return tokenize.kmer_counts(windows, k=options.kmer_k)
    raise ValueError(f"unknown tokenizer {scheme!r}; choose from {TOKENIZERS}")


def split_arrays(variants: Sequence[Variant], options: VariantEffectOptions) -> dict[str, Any]:
    """The arrays of one split: ``y``, ``ids`` and ``ref_<scheme>``/``alt_<scheme>`` per tokenizer."""
    arrays: dict[str, Any] = {
        "y": np.array([v.label for v in variants], dtype=np.int64),
        "ids": np.array([v.id for v in variants], dtype=str),
    }
    ref_windows = [v.ref_window for v in variants]
    alt_windows = [v.alt_window for v in variants]
    for scheme in options.tokenizers:
        for side, windows in (("ref", ref_windows), ("alt", alt_windows)):
            arrays[f"{side}_{scheme}"] = encode_windows(windows, scheme, options)
    return arrays


def write_variants_tsv(path: str | os.PathLike[str], variants: Sequence[Variant], splits: Sequence[str]) -> None:
    """``variants.tsv``: id, chrom, pos, ref, alt, label_value, label, region, split, ref_window, alt_window."""
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write("id\tchrom\tpos\tref\talt\tlabel_value\tlabel\tregion\tsplit\tref_window\talt_window\n")
        handle.writelines(
            f"{v.id}\t{v.chrom}\t{v.pos}\t{v.ref}\t{v.alt}\t{v.label_value}\t{v.label}\t{v.region}"
            f"\t{split}\t{v.ref_window}\t{v.alt_window}\n"
            for v, split in zip(variants, splits)
        )


def column_values(variants: Sequence[Variant], column: str, source: str) -> list[str]:
    """A per-variant column for stratify_by/group_by: label, label_value, chrom, region, ref, alt."""
    allowed = ("label", "label_value", "chrom", "region", "ref", "alt")
    if column not in allowed:
        raise InputError(source, f"{column!r} is not a variant column; use one of {allowed}", record="params.split")
    return [str(getattr(v, column)) for v in variants]
