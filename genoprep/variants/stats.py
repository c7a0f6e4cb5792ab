"""Per-variant and per-sample genotype statistics computed from a dosage block.

(Float dosage blocks, ``dosage_field: DS``, are counted as :func:`variant_counts` says.)

All functions take a *variant-major* dosage block ``dosage_by_variant`` (int8, variants ×
samples; 0/1/2 ALT copies, haploid calls 0/1, −1 missing) and an optional boolean
``haploid`` block of the same shape (True where the call is a called haploid genotype;
``None`` means every call is diploid).

Semantics
---------
- **AC / AN** (bcftools): AC = ALT copies among called genotypes, AN = called alleles
  (2 per called diploid genotype, 1 per called haploid genotype). A half-missing call
  (``0/.``) is a missing genotype and contributes nothing (bcftools would count its one
  called allele in AN; plink2 ``--vcf-half-call missing`` agrees with us).
- **AF** = AC / AN (NaN when AN = 0); **MAF** = min(AF, 1 − AF).
- **Variant missing rate** (plink2 ``--geno``/``--missing``) = missing genotypes / samples.
- **Sample missing rate** (plink2 ``--mind``) = missing genotypes / variants.
- **HWE** exact test (Wigginton, Cutler & Abecasis 2005, as plink2 ``--hwe``/``--hardy``)
  over called *diploid* genotypes only; ``midp=True`` gives the mid-p variant
  (P(observed) counted half).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

#: Relative tolerance under which two configuration probabilities count as tied in the
#: HWE exact test (plink2 treats near-equal probabilities as ties in the same way).
HWE_TIE_TOLERANCE = 1e-10


@dataclass(frozen=True)
class VariantCounts:
    """Genotype counts per variant (all int64 arrays of length n_variants)."""

    ac: np.ndarray  # float64 for dosages (their sum)
    an: np.ndarray
    n_called: np.ndarray
    n_missing: np.ndarray
    n_hom_ref: np.ndarray
    n_het: np.ndarray
    n_hom_alt: np.ndarray


def _row_count(mask: np.ndarray) -> np.ndarray:
    """Number of True values per row (int64)."""
    return mask.view(np.uint8).sum(axis=1, dtype=np.int64)


def variant_counts(dosage_by_variant: np.ndarray, haploid: np.ndarray | None) -> VariantCounts:
    """Count AC, AN, called/missing and diploid genotype classes per variant.

    For float dosages (``dosage_field: DS``): AC = sum of the dosages (float64), AN = 2 ×
    non-missing dosages, missing = NaN, and the genotype classes (for HWE) are plink2's
    hardcalls: the dosage quantised to 1/16384 when it lies within 0.1 of 0, 1 or 2, else a
    missing hardcall (``--hard-call-threshold`` 0.1).
    """
    from genoprep.variants.fastgt import dose_counts, is_float_dosage, row_counts

    d = dosage_by_variant
    n_samples = d.shape[1]
    if is_float_dosage(d):
        n_missing, dose_sum, n_hom_ref, n_het, n_hom_alt = dose_counts(d)
        n_called = n_samples - n_missing
        return VariantCounts(dose_sum, 2 * n_called, n_called, n_missing, n_hom_ref, n_het, n_hom_alt)
    n_missing, n_one, n_two, _ = row_counts(d, per_sample=False)  # dosage 2 only comes from diploid calls
    n_called = n_samples - n_missing
    ac = n_one + 2 * n_two
    if haploid is None:
        n_hap = np.zeros(d.shape[0], dtype=np.int64)
        n_het = n_one
    else:
        n_hap = _row_count(haploid)
        n_het = n_one - _row_count((d == 1) & haploid)
    an = 2 * n_called - n_hap
    n_hom_ref = n_called - n_hap - n_het - n_two
    return VariantCounts(ac, an, n_called, n_missing, n_hom_ref, n_het, n_two)


def allele_frequency(ac: np.ndarray, an: np.ndarray) -> np.ndarray:
    """ALT allele frequency AC/AN over called alleles (float64, NaN where AN = 0)."""
    ac = np.asarray(ac, dtype=np.float64)
    an = np.asarray(an, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(an > 0, ac / np.where(an > 0, an, 1.0), np.nan)


def minor_allele_frequency(af: np.ndarray) -> np.ndarray:
    """MAF = min(AF, 1 − AF) (NaN stays NaN)."""
    return np.minimum(af, 1.0 - af)


def passes_min_maf(ac: np.ndarray, an: np.ndarray, min_maf: float) -> np.ndarray:
    """bcftools ``view -q MIN:minor`` / plink2 ``--maf MIN``: keep when minor AC ≥ MIN·AN.

    Inclusive (a variant with MAF exactly equal to the threshold is kept), and a variant
    with no called allele (AN = 0) fails, as in bcftools. ``ac`` may be a dosage sum (float).
    """
    ac = np.asarray(ac, dtype=np.float64)
    an = np.asarray(an, dtype=np.float64)
    minor_ac = np.minimum(ac, an - ac)
    return (an > 0) & ~(minor_ac < min_maf * an)


def missing_rate(n_missing: np.ndarray, n_total: int) -> np.ndarray:
    """Fraction of genotypes missing (float64; NaN when there is nothing to count)."""
    n_missing = np.asarray(n_missing, dtype=np.float64)
    if n_total == 0:
        return np.full(n_missing.shape, np.nan)
    return n_missing / float(n_total)


@lru_cache(maxsize=65536)
def hwe_exact_p(n_het: int, n_hom_1: int, n_hom_2: int, midp: bool = False) -> float:
    """Hardy-Weinberg exact test p-value (Wigginton et al. 2005, the SNPHWE algorithm).

    ``n_hom_1``/``n_hom_2`` are the two homozygote counts. Returns 1.0 when no genotype
    is called. With ``midp`` the observed configuration's probability counts half.
    """
    if n_het < 0 or n_hom_1 < 0 or n_hom_2 < 0:
        raise ValueError("negative genotype count")
    n = n_het + n_hom_1 + n_hom_2
    if n == 0:
        return 1.0
    hom_rare = min(n_hom_1, n_hom_2)
    rare = 2 * hom_rare + n_het
    probs = np.zeros(rare + 1, dtype=np.float64)
    mid = rare * (2 * n - rare) // (2 * n)
    if (mid % 2) != (rare % 2):
        mid += 1
    probs[mid] = 1.0
    curr_hets = mid
    curr_homr = (rare - mid) // 2
    curr_homc = n - curr_hets - curr_homr
    while curr_hets >= 2:
        probs[curr_hets - 2] = (
            probs[curr_hets] * curr_hets * (curr_hets - 1.0) / (4.0 * (curr_homr + 1.0) * (curr_homc + 1.0))
        )
        curr_hets -= 2
        curr_homr += 1
        curr_homc += 1
    curr_hets = mid
    curr_homr = (rare - mid) // 2
    curr_homc = n - curr_hets - curr_homr
    while curr_hets <= rare - 2:
        probs[curr_hets + 2] = probs[curr_hets] * 4.0 * curr_homr * curr_homc / ((curr_hets + 2.0) * (curr_hets + 1.0))
        curr_hets += 2
        curr_homr -= 1
        curr_homc -= 1
    total = probs.sum()
    p_obs = probs[n_het]
    tol = p_obs * HWE_TIE_TOLERANCE
    le = probs[probs <= p_obs + tol].sum()
    if midp:
        tied = probs[np.abs(probs - p_obs) <= tol].sum()
        le -= 0.5 * tied
    return float(min(1.0, le / total))


def hwe_p_values(n_hom_ref: np.ndarray, n_het: np.ndarray, n_hom_alt: np.ndarray, midp: bool = False) -> np.ndarray:
    """Vector of HWE exact p-values for diploid genotype counts (one per variant)."""
    return np.array(
        [hwe_exact_p(int(h), int(r), int(a), midp) for r, h, a in zip(n_hom_ref, n_het, n_hom_alt, strict=True)],
        dtype=np.float64,
    )
