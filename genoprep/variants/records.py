"""Turning one record's called alleles into dosage columns, and the load-time options.

This module is shared by both readers (``cyvcf2`` general path and the text fast path) so
that they cannot disagree on semantics:

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

import re
from dataclasses import dataclass
from typing import Literal

import numpy as np

from genoprep.errors import InputError

MAX_POSITION = 2**31 - 1

MultiallelicPolicy = Literal["split", "drop"]


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
    """

    regions: tuple[Region, ...] | None = None
    samples: tuple[str, ...] | None = None
    pass_only: bool = False
    missing_filter_passes: bool = True
    multiallelic: MultiallelicPolicy = "split"

    def __post_init__(self) -> None:
        if self.multiallelic not in ("split", "drop"):
            raise InputError("options", f"multiallelic must be 'split' or 'drop', not {self.multiallelic!r}")

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


def parse_gt_text(
    gt: bytes, n_alt: int, source: str, label: str
) -> tuple[int, int, bool]:
    """Parse one GT string (``0/1``, ``1|0``, ``1``, ``./.``, ``0/.``, ``10/2``).

    Returns ``(allele_1, allele_2, haploid)`` with −1 for ``.``. A leading phase
    character (VCF 4.4 ``|0/1``) is accepted. Raises :class:`InputError` for ploidy > 2,
    non-numeric alleles and allele indices beyond the ALT count.
    """
    text = gt[1:] if gt[:1] in (b"/", b"|") else gt
    parts = re.split(rb"[/|]", text)
    if len(parts) > 2:
        raise InputError(source, f"GT {gt.decode(errors='replace')!r} has ploidy {len(parts)}; only haploid and diploid calls are supported", label)
    alleles = []
    for p in parts:
        if p == b".":
            alleles.append(-1)
        elif p.isdigit():
            a = int(p)
            if a > n_alt:
                raise InputError(source, f"GT {gt.decode(errors='replace')!r} refers to allele {a} but the record has {n_alt} ALT allele(s)", label)
            alleles.append(a)
        else:
            raise InputError(source, f"GT {gt.decode(errors='replace')!r} is not a number or '.'", label)
    if len(alleles) == 1:
        return alleles[0], -2, True
    return alleles[0], alleles[1], False
