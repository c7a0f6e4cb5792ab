"""What a record means, shared by both readers: load-time options, chunk specs and results.

- :class:`ChunkSpec` / :class:`ChunkResult`: which records a chunk holds and what reading
  it produced; both serialise themselves (``to_dict``/``from_dict``, ``save``/``load``).
- :func:`decode_line`: the per-line text decoder, used for the records the numba scan of
  :mod:`genoprep.variants.fastgt` cannot vouch for (it decodes them or raises the one-line
  :class:`~genoprep.errors.InputError`).

Both readers (``cyvcf2`` and the text path) turn alleles into dosages here, so that they
cannot disagree on semantics:

- A call is given as two allele arrays ``allele_1``/``allele_2`` (int16 per sample,
  −1 = ``.``) and ``haploid`` (True when the call has one allele; ``allele_2`` is then
  ignored). Ploidy above 2 is an input error.
- **Missing**: any ``.`` in the call (``./.``, ``.``, and half-missing ``0/.``, ``./1``).
- **Dosage** for ALT ``j`` = number of alleles equal to ``j`` (0, 1, 2; haploid 0/1),
  −1 when missing. For a multi-allelic record this is exactly what
  ``bcftools norm -m-`` writes: a ``1/2`` call becomes ``1/0`` in the ALT-1 record and
  ``0/1`` in the ALT-2 record, i.e. the other ALT alleles count on the REF side.
- A record with ALT ``.`` (no alternate allele) gives one column with ALT ``.`` (all
  called dosages 0).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from genoprep.errors import InputError

MAX_POSITION = 2**31 - 1

MultiallelicPolicy = Literal["split", "drop"]
DosageField = Literal["GT", "DS"]

#: plink2 stores a dosage in units of 1/16384 and saves a hardcall when the quantised dosage
#: lies within 0.1 of an integer (``--hard-call-threshold`` 0.1, inclusive)
DOSAGE_UNITS = 16384
HARDCALL_HALF_WIDTH = 1638  # floor(0.1 * 16384): the largest distance that still gives a hardcall


@dataclass(frozen=True)
class Region:
    """A closed 1-based interval ``chrom:start-end``; records are kept when POS is inside."""

    chrom: str
    start: int = 1
    end: int = MAX_POSITION

    def contains(self, chrom: str, pos: int) -> bool:
        """True when the record at ``chrom:pos`` starts inside the region."""
        return chrom == self.chrom and self.start <= pos <= self.end

    def __str__(self) -> str:
        if self.start == 1 and self.end == MAX_POSITION:
            return self.chrom
        return f"{self.chrom}:{self.start}-{self.end}"


_REGION_RE = re.compile(r"^(?P<chrom>[^:]+)(?::(?P<start>[\d,]+)(?P<dash>-)?(?P<end>[\d,]+)?)?$")


def parse_region(text: str) -> Region:
    """Parse ``chrom``, ``chrom:pos``, ``chrom:start-`` or ``chrom:start-end`` (1-based, closed)."""
    m = _REGION_RE.match(text.strip())
    if not m:
        raise InputError("regions", f"cannot parse region {text!r} (want chrom:start-end)")
    chrom = m["chrom"]
    if m["start"] is None:
        return Region(chrom)
    start = int(m["start"].replace(",", ""))
    if m["dash"] is None:
        end = start
    elif m["end"] is None:
        end = MAX_POSITION
    else:
        end = int(m["end"].replace(",", ""))
    if start < 1 or end < start:
        raise InputError("regions", f"region {text!r} has start < 1 or end < start")
    return Region(chrom, start, end)


@dataclass(frozen=True)
class LoadOptions:
    """Filters applied while reading records, before any statistic is computed.

    - ``regions``: keep records whose POS lies in one of them (like
      ``bcftools view -t``/``--regions-overlap pos``); ``None`` keeps all.
    - ``samples``: keep only these sample ids (file order is kept); unknown ids are an
      input error. ``None`` keeps all.
    - ``pass_only``: keep only records whose FILTER is ``PASS`` — and ``.`` too when
      ``missing_filter_passes`` (plink2 ``--var-filter`` semantics, the default);
      with ``missing_filter_passes=False`` this is ``bcftools view -f PASS``.
    - ``multiallelic``: ``"split"`` (one biallelic column per ALT, as
      ``bcftools norm -m-``) or ``"drop"`` (remove records with more than one ALT).
    - ``dosage_field``: ``"GT"`` (int8 ALT counts from the called genotype) or ``"DS"``
      (float32 imputed dosages, see :func:`ds_rows`).
    """

    regions: tuple[Region, ...] | None = None
    samples: tuple[str, ...] | None = None
    pass_only: bool = False
    missing_filter_passes: bool = True
    multiallelic: MultiallelicPolicy = "split"
    dosage_field: DosageField = "GT"

    def __post_init__(self) -> None:
        if self.multiallelic not in ("split", "drop"):
            raise InputError("options", f"multiallelic must be 'split' or 'drop', not {self.multiallelic!r}")
        if self.dosage_field not in ("GT", "DS"):
            raise InputError("options", f"dosage_field must be 'GT' or 'DS', not {self.dosage_field!r}")

    def keeps_filter(self, filter_value: str) -> bool:
        """Whether a record with this FILTER string passes ``pass_only``."""
        if not self.pass_only:
            return True
        if filter_value == "PASS":
            return True
        return self.missing_filter_passes and filter_value == "."

    def keeps_position(self, chrom: str, pos: int) -> bool:
        """Whether a record at ``chrom:pos`` lies in the selected regions."""
        if self.regions is None:
            return True
        return any(r.contains(chrom, pos) for r in self.regions)


def record_label(record_number: int | None, chrom: str | None, pos: int | None) -> str:
    """``record 12 (chr21:9411239)`` — the record part of an InputError message."""
    where = f" ({chrom}:{pos})" if chrom is not None and pos is not None else ""
    if record_number is None:
        return f"record at {chrom}:{pos}"
    return f"record {record_number}{where}"


def dosage_rows(
    allele_1: np.ndarray,
    allele_2: np.ndarray,
    haploid: np.ndarray,
    n_alt: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Dosage rows (int8, max(n_alt,1) × samples) and the called-haploid mask of one record.

    See the module docstring for the semantics. ``allele_2`` is ignored where ``haploid``.
    """
    missing = (allele_1 < 0) | (~haploid & (allele_2 < 0))
    n_cols = max(n_alt, 1)
    rows = np.empty((n_cols, allele_1.shape[0]), dtype=np.int8)
    for j in range(1, n_cols + 1):
        d = (allele_1 == j).astype(np.int8) + ((allele_2 == j) & ~haploid).astype(np.int8)
        d[missing] = -1
        rows[j - 1] = d
    return rows, haploid & ~missing


def parse_gt_text(gt: bytes, n_alt: int, source: str, label: str) -> tuple[int, int, bool]:
    """Parse one GT string (``0/1``, ``1|0``, ``1``, ``./.``, ``0/.``, ``10/2``).

    Returns ``(allele_1, allele_2, haploid)`` with −1 for ``.``. A leading phase
    character (VCF 4.4 ``|0/1``) is accepted. Raises :class:`InputError` for ploidy > 2,
    non-numeric alleles and allele indices beyond the ALT count.
    """
    text = gt[1:] if gt[:1] in (b"/", b"|") else gt
    parts = re.split(rb"[/|]", text)
    if len(parts) > 2:
        raise InputError(
            source,
            f"GT {gt.decode(errors='replace')!r} has ploidy {len(parts)}; only haploid and diploid calls are supported",
            label,
        )
    alleles = []
    for p in parts:
        if p == b".":
            alleles.append(-1)
        elif p.isdigit():
            a = int(p)
            if a > n_alt:
                raise InputError(
                    source,
                    f"GT {gt.decode(errors='replace')!r} refers to allele {a} but the record has {n_alt} ALT allele(s)",
                    label,
                )
            alleles.append(a)
        else:
            raise InputError(source, f"GT {gt.decode(errors='replace')!r} is not a number or '.'", label)
    if len(alleles) == 1:
        return alleles[0], -2, True
    return alleles[0], alleles[1], False


def decode_line(
    line: bytes,
    n_file_samples: int,
    keep_samples: np.ndarray | None,
    record_number: int,
    source: str,
) -> tuple[tuple, np.ndarray, np.ndarray, np.ndarray, bool]:
    """Decode one VCF data line field by field (the general text route).

    Returns ``(meta, allele_1, allele_2, haploid, has_gt)``: ``meta`` is
    ``(chrom, pos, id, ref, alts, filter)``, the alleles are int16 per selected sample
    (−1 = ``.``), ``has_gt`` False when FORMAT holds no GT (every call is then missing).
    Raises :class:`InputError` naming the record for a wrong column count, a bad POS or
    a bad GT.
    """
    fields = line.rstrip(b"\r\n").split(b"\t")
    chrom = fields[0].decode(errors="replace")
    if len(fields) != 9 + n_file_samples:
        raise InputError(
            source,
            f"expected {9 + n_file_samples} tab-separated columns, found {len(fields)}",
            record_label(record_number, None, None),
        )
    pos_text = fields[1].decode(errors="replace")
    try:
        pos = int(fields[1])
    except ValueError:
        raise InputError(
            source, f"POS {pos_text!r} is not an integer", record_label(record_number, chrom, pos_text)
        ) from None
    alts = [] if fields[4] == b"." else fields[4].decode().split(",")
    meta = (chrom, pos, fields[2].decode(), fields[3].decode(), alts, fields[6].decode())
    label = record_label(record_number, chrom, pos)
    fmt = fields[8].split(b":")
    idx = np.arange(n_file_samples) if keep_samples is None else keep_samples
    n = len(idx)
    a1 = np.full(n, -1, dtype=np.int16)
    a2 = np.full(n, -1, dtype=np.int16)
    hap = np.zeros(n, dtype=bool)
    if b"GT" not in fmt:
        return meta, a1, a2, hap, False
    gt_index = fmt.index(b"GT")
    for k, s in enumerate(idx):
        parts = fields[9 + int(s)].split(b":")
        gt = parts[gt_index] if gt_index < len(parts) else b"."
        a1[k], a2[k], hap[k] = parse_gt_text(gt, len(alts), source, label)
    return meta, a1, a2, hap, True


def parse_dose(text: bytes, source: str, label: str, what: str = "DS") -> float:
    """One dosage value (``DS`` entry, or a ``GP``-derived one) as float32, or NaN for ``.``.

    Refused (one line): not a number, NaN/infinity, or outside [0, 2].
    """
    if text == b".":
        return np.nan
    try:
        value = float(text)
    except ValueError:
        value = np.nan
        ok = False
    else:
        ok = 0.0 <= value <= 2.0
    if not ok:
        raise InputError(source, f"{what} {text.decode(errors='replace')!r} is not a dosage between 0 and 2", label)
    return float(np.float32(value))


def gp_dosages(text: bytes, n_alt: int, source: str, label: str) -> list[float] | None:
    """ALT dosages from one ``GP`` entry (genotype probabilities, VCF order), or None for ``.``.

    Diploid (``(n+1)(n+2)/2`` values, genotype ``a/b`` with a ≤ b at index b(b+1)/2 + a):
    dosage of ALT j = Σ P(a/b) · [(a = j) + (b = j)] (biallelic: P(het) + 2·P(hom-alt));
    haploid (``n+1`` values): P(j). A value outside [0, 1] or a wrong count is refused.
    """
    if text in (b".", b""):
        return None
    parts = text.split(b",")
    if all(p == b"." for p in parts):
        return None
    n_alleles = max(n_alt, 1) + 1
    try:
        probs = [float(p) for p in parts]
    except ValueError:
        probs = [np.nan]
    if not all(0.0 <= p <= 1.0 for p in probs):
        raise InputError(source, f"GP {text.decode(errors='replace')!r} is not a list of probabilities", label)
    if len(probs) == n_alleles:  # haploid
        return [probs[j] for j in range(1, n_alleles)]
    if len(probs) != n_alleles * (n_alleles + 1) // 2:
        raise InputError(
            source,
            f"GP {text.decode(errors='replace')!r} has {len(probs)} values; a record with {n_alleles - 1} ALT "
            f"allele(s) needs {n_alleles} (haploid) or {n_alleles * (n_alleles + 1) // 2} (diploid)",
            label,
        )
    dose = [0.0] * (n_alleles - 1)
    for b in range(n_alleles):
        for a in range(b + 1):
            p = probs[b * (b + 1) // 2 + a]
            for j in (a, b):
                if j > 0:
                    dose[j - 1] += p
    return [min(d, 2.0) for d in dose]


def ds_rows(
    gt_rows: np.ndarray,
    ds: Sequence[bytes | None],
    gp: Sequence[bytes | None],
    n_alt: int,
    source: str,
    label: str,
) -> np.ndarray:
    """Float32 dosage rows (max(n_alt,1) × samples, NaN missing) of one record, ``dosage_field: DS``.

    Per sample, the first of these that is present wins (plink2 ``--vcf dosage=DS`` takes
    the GT call where DS is missing; GP is genoprep's addition for files that carry only GP):

    1. its ``DS`` entry (``ds[i]``: ``Number=A``, one value per ALT, each in [0, 2]);
    2. its ``GP`` entry (``gp[i]``, converted by :func:`gp_dosages`);
    3. its GT dosage (``gt_rows``, int8, −1 missing → NaN).

    ``None`` means the record's FORMAT has no such key or the sample's field is too short.
    """
    n_cols = max(n_alt, 1)
    rows = gt_rows.astype(np.float32)
    rows[gt_rows < 0] = np.nan
    for i in range(gt_rows.shape[1]):
        text = ds[i]
        if text is not None and text != b".":
            parts = text.split(b",")
            if len(parts) != n_cols:
                raise InputError(
                    source,
                    f"DS {text.decode(errors='replace')!r} has {len(parts)} value(s) for {n_cols} ALT allele(s)",
                    label,
                )
            values = [parse_dose(part, source, label) for part in parts]
            if not all(np.isnan(v) for v in values):
                if any(np.isnan(v) for v in values):
                    raise InputError(
                        source, f"DS {text.decode(errors='replace')!r} is missing for some ALT alleles only", label
                    )
                rows[:, i] = values
                continue
        if gp[i] is not None:
            dose = gp_dosages(gp[i], n_alt, source, label)
            if dose is not None:
                rows[:, i] = dose
    return rows


def decode_line_ds(
    line: bytes,
    n_file_samples: int,
    keep_samples: np.ndarray | None,
    record_number: int,
    source: str,
) -> tuple[tuple, np.ndarray, bool]:
    """:func:`decode_line` for ``dosage_field: DS``: ``(meta, float32 rows, has_any_field)``.

    ``has_any_field`` is False when FORMAT holds none of DS, GP and GT.
    """
    meta, a1, a2, hap, has_gt = decode_line(line, n_file_samples, keep_samples, record_number, source)
    alts = meta[4]
    gt_rows, _ = dosage_rows(a1, a2, hap, len(alts))
    fields = line.rstrip(b"\r\n").split(b"\t")
    fmt = fields[8].split(b":")
    idx = np.arange(n_file_samples) if keep_samples is None else keep_samples
    label = record_label(record_number, meta[0], meta[1])

    def entries(key: bytes) -> list[bytes | None]:
        if key not in fmt:
            return [None] * len(idx)
        k = fmt.index(key)
        out: list[bytes | None] = []
        for s in idx:
            parts = fields[9 + int(s)].split(b":")
            out.append(parts[k] if k < len(parts) else None)
        return out

    ds, gp = entries(b"DS"), entries(b"GP")
    rows = ds_rows(gt_rows, ds, gp, len(alts), source, label)
    return meta, rows, has_gt or b"DS" in fmt or b"GP" in fmt


@dataclass(frozen=True)
class ChunkSpec:
    """Which records a chunk holds: a record range or a region (exactly one is set).

    A record range may carry ``offset``, the seek position of its first record found by
    the planning pass: the BGZF virtual offset (``block_offset << 16 | offset_in_block``)
    for a BGZF file, the byte offset for an uncompressed one (``None``: plain gzip and
    BCF, read from the start). ``first_record`` stays the global 0-based record number
    (error messages count records from the start of the file). ``end_offset`` (same
    kind) is where the next chunk begins: reading stops there (``None``: end of file).
    """

    index: int
    first_record: int | None = None
    n_records: int | None = None
    region: Region | None = None
    offset: int | None = None
    end_offset: int | None = None

    def __post_init__(self) -> None:
        by_range = self.first_record is not None
        if by_range == (self.region is not None):
            raise ValueError("a chunk is either a record range or a region")
        if by_range and (self.first_record < 0 or self.n_records is None or self.n_records < 0):
            raise ValueError("record range needs first_record >= 0 and n_records >= 0")
        if self.offset is not None and (not by_range or self.offset < 0):
            raise ValueError("a seek offset belongs to a record range and is >= 0")
        if self.end_offset is not None and (self.offset is None or self.end_offset < self.offset):
            raise ValueError("end_offset needs an offset and is >= it")

    def describe(self) -> str:
        """Human-readable description, e.g. ``records 0-999`` or ``chr21:1-5000000``."""
        if self.region is not None:
            return str(self.region)
        return f"records {self.first_record}-{self.first_record + self.n_records - 1}"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the spec (what the plan lists)."""
        if self.region is not None:
            r = self.region
            return {"index": self.index, "chrom": r.chrom, "start": r.start, "end": r.end}
        d: dict[str, Any] = {"index": self.index, "first_record": self.first_record, "n_records": self.n_records}
        if self.offset is not None:
            d["offset"] = self.offset
        if self.end_offset is not None:
            d["end_offset"] = self.end_offset
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ChunkSpec:
        """Inverse of :meth:`to_dict`."""
        if "chrom" in d:
            return cls(int(d["index"]), region=Region(d["chrom"], int(d["start"]), int(d["end"])))
        offset, end = d.get("offset"), d.get("end_offset")
        return cls(
            int(d["index"]),
            first_record=int(d["first_record"]),
            n_records=int(d["n_records"]),
            offset=None if offset is None else int(offset),
            end_offset=None if end is None else int(end),
        )


#: the load-time counts every chunk reports (summed by gather)
LOAD_COUNTS = (
    "records_read",
    "records_removed_region",
    "records_removed_filter",
    "records_removed_multiallelic",
    "records_split_multiallelic",
    "records_without_gt",
)


def _strings(values: Sequence[str]) -> np.ndarray:
    """``values`` as a fixed-width unicode array (how the ``.npz`` stores text columns)."""
    return np.array(values, dtype=str)


@dataclass
class ChunkResult:
    """The partial result of one chunk (everything gather needs, nothing more).

    ``dosage_by_variant`` is variant-major (variants × samples; int8 with −1 missing, or
    float32 with NaN missing for ``dosage_field: DS``) so that chunks concatenate along the
    first axis; the artifact is its transpose.
    ``haploid`` (same shape, bool) marks called haploid genotypes, or is ``None`` when
    there are none. The ``load_counts`` record how many records each load-time filter
    removed. Per-variant counts and per-sample missing counts cover all samples/variants
    of the chunk (before any sample or variant filter).
    """

    source: str
    spec: ChunkSpec
    samples: list[str]
    chrom: list[str]
    pos: np.ndarray
    variant_id: list[str]
    ref: list[str]
    alt: list[str]
    filter: list[str]
    split_multiallelic: np.ndarray
    dosage_by_variant: np.ndarray
    haploid: np.ndarray | None
    load_counts: dict[str, int] = field(default_factory=dict)
    sample_n_missing: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    variant_n_missing: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    @property
    def n_variants(self) -> int:
        """Number of biallelic dosage columns (after splitting) in the chunk."""
        return int(self.dosage_by_variant.shape[0])

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the result as an uncompressed ``.npz`` (arrays only, no pickled objects)."""
        header = {"source": self.source, "spec": self.spec.to_dict(), "load_counts": self.load_counts}
        arrays = {
            "header": np.array(json.dumps(header, sort_keys=True)),
            "samples": _strings(self.samples),
            "chrom": _strings(self.chrom),
            "pos": self.pos,
            "variant_id": _strings(self.variant_id),
            "ref": _strings(self.ref),
            "alt": _strings(self.alt),
            "filter": _strings(self.filter),
            "split_multiallelic": self.split_multiallelic,
            "dosage_by_variant": self.dosage_by_variant,
            "sample_n_missing": self.sample_n_missing,
            "variant_n_missing": self.variant_n_missing,
        }
        if self.haploid is not None:
            arrays["haploid"] = self.haploid
        with open(path, "wb") as f:
            np.savez(f, **arrays)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ChunkResult:
        """Read a result written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as z:
            header = json.loads(str(z["header"]))
            n_samples = len(z["samples"])
            return cls(
                source=header["source"],
                spec=ChunkSpec.from_dict(header["spec"]),
                samples=[str(s) for s in z["samples"]],
                chrom=[str(s) for s in z["chrom"]],
                pos=z["pos"],
                variant_id=[str(s) for s in z["variant_id"]],
                ref=[str(s) for s in z["ref"]],
                alt=[str(s) for s in z["alt"]],
                filter=[str(s) for s in z["filter"]],
                split_multiallelic=z["split_multiallelic"],
                dosage_by_variant=z["dosage_by_variant"].reshape(-1, n_samples),
                haploid=z["haploid"].reshape(-1, n_samples) if "haploid" in z.files else None,
                load_counts={k: int(v) for k, v in header["load_counts"].items()},
                sample_n_missing=z["sample_n_missing"],
                variant_n_missing=z["variant_n_missing"],
            )
