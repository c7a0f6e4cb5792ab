"""Killer tests for mutants of genoprep/variants (issue 16): independent facts about its public functions.

Each test states a fact worked out by hand (or by a plain re-implementation written here) and
compares it with what genoprep computes: region and GT parsing, dosage/GP/DS semantics, the exact
one-line errors (file, record, problem), chunk specs and their serialisation, and the statistics.
No workflow runs; no external tool (those comparisons live in test_variants_reference/boundaries).
"""

from __future__ import annotations

import dataclasses
import math
import re
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from genoprep.errors import InputError
from genoprep.options import freeze
from genoprep.variants import (
    ChunkResult,
    ChunkSpec,
    FilterParams,
    LoadOptions,
    Region,
    gather,
    parse_region,
    read_all,
    vcfio,
)
from genoprep.variants.chunks import count_records
from genoprep.variants.records import (
    MAX_POSITION,
    decode_line,
    decode_line_ds,
    dosage_rows,
    ds_rows,
    gp_dosages,
    parse_dose,
    parse_gt_text,
    record_label,
)
from genoprep.variants.stats import (
    allele_frequency,
    hwe_exact_p,
    hwe_p_values,
    minor_allele_frequency,
    missing_rate,
    passes_min_maf,
    variant_counts,
)
from genoprep.variants.steps import (
    ChunkOptions,
    GatherOptions,
    MetadataOptions,
    check_format,
    check_kept,
    describe_filters,
    read_planned_chunk,
)

# --- regions -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "chrom", "start", "end", "shown"),
    [
        ("chr1", "chr1", 1, 2**31 - 1, "chr1"),
        ("chr1:15", "chr1", 15, 15, "chr1:15-15"),
        ("chr1:100-", "chr1", 100, 2**31 - 1, "chr1:100-2147483647"),
        (" chr2:1,000-2,000 ", "chr2", 1000, 2000, "chr2:1000-2000"),
        ("X:1-10", "X", 1, 10, "X:1-10"),
        ("X:1-1", "X", 1, 1, "X:1-1"),
    ],
)
def test_parse_region_by_hand(text, chrom, start, end, shown):
    region = parse_region(text)
    assert (region.chrom, region.start, region.end) == (chrom, start, end)
    assert str(region) == shown
    assert MAX_POSITION == 2147483647


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("chr1:0-5", "regions: region 'chr1:0-5' has start < 1 or end < start"),
        ("chr1:20-10", "regions: region 'chr1:20-10' has start < 1 or end < start"),
        ("chr1:a-b", "regions: cannot parse region 'chr1:a-b' (want chrom:start-end)"),
        ("", "regions: cannot parse region '' (want chrom:start-end)"),
    ],
)
def test_parse_region_errors_are_exact_lines(text, message):
    with pytest.raises(InputError) as caught:
        parse_region(text)
    assert str(caught.value) == message


def test_region_contains_both_ends_and_only_its_chromosome():
    region = Region("2", 10, 20)
    assert [p for p in range(8, 23) if region.contains("2", p)] == list(range(10, 21))
    assert not region.contains("20", 15)
    assert str(Region("2")) == "2" and str(Region("2", 1, 5)) == "2:1-5" and str(Region("2", 3)) == "2:3-2147483647"


# --- load options ------------------------------------------------------------------------------


def test_load_option_errors_are_exact_lines():
    with pytest.raises(InputError) as caught:
        LoadOptions(multiallelic="keep")
    assert str(caught.value) == "options: multiallelic must be 'split' or 'drop', not 'keep'"
    with pytest.raises(InputError) as caught:
        LoadOptions(dosage_field="GP")
    assert str(caught.value) == "options: dosage_field must be 'GT' or 'DS', not 'GP'"
    assert LoadOptions(multiallelic="drop", dosage_field="DS").dosage_field == "DS"


@pytest.mark.parametrize(
    ("pass_only", "missing_passes", "kept"),
    [
        (False, True, {"PASS", ".", "q10", "LowQual;q10"}),
        (True, True, {"PASS", "."}),
        (True, False, {"PASS"}),
        (False, False, {"PASS", ".", "q10", "LowQual;q10"}),
    ],
)
def test_keeps_filter_truth_table(pass_only, missing_passes, kept):
    options = LoadOptions(pass_only=pass_only, missing_filter_passes=missing_passes)
    assert {f for f in ["PASS", ".", "q10", "LowQual;q10"] if options.keeps_filter(f)} == kept


def test_keeps_position_any_region():
    options = LoadOptions(regions=(Region("1", 5, 6), Region("X", 100, 100)))
    assert [p for p in range(1, 10) if options.keeps_position("1", p)] == [5, 6]
    assert options.keeps_position("X", 100) and not options.keeps_position("X", 101)
    assert LoadOptions().keeps_position("anything", 1)


# --- record labels and GT parsing ---------------------------------------------------------------


def test_record_label_forms():
    assert record_label(12, "chr21", 9411239) == "record 12 (chr21:9411239)"
    assert record_label(3, None, None) == "record 3"
    assert record_label(3, "1", None) == "record 3"
    assert record_label(3, None, 7) == "record 3"
    assert record_label(None, "1", 5) == "record at 1:5"


@pytest.mark.parametrize(
    ("gt", "n_alt", "parsed"),
    [
        (b"0/1", 1, (0, 1, False)),
        (b"1|0", 1, (1, 0, False)),
        (b"1", 1, (1, -2, True)),
        (b".", 1, (-1, -2, True)),
        (b"./.", 1, (-1, -1, False)),
        (b"0/.", 1, (0, -1, False)),
        (b"|0/1", 1, (0, 1, False)),
        (b"/1|1", 1, (1, 1, False)),
        (b"10/2", 10, (10, 2, False)),
        (b"2/2", 2, (2, 2, False)),
        (b"0/0", 0, (0, 0, False)),
    ],
)
def test_parse_gt_text_by_hand(gt, n_alt, parsed):
    assert parse_gt_text(gt, n_alt, "f.vcf", "record 1") == parsed


@pytest.mark.parametrize(
    ("gt", "n_alt", "problem"),
    [
        (b"0/1/1", 1, "GT '0/1/1' has ploidy 3; only haploid and diploid calls are supported"),
        (b"0/3", 2, "GT '0/3' refers to allele 3 but the record has 2 ALT allele(s)"),
        (b"1", 0, "GT '1' refers to allele 1 but the record has 0 ALT allele(s)"),
        (b"0/A", 1, "GT '0/A' is not a number or '.'"),
        (b"", 1, "GT '' is not a number or '.'"),
    ],
)
def test_parse_gt_text_errors_are_exact_lines(gt, n_alt, problem):
    with pytest.raises(InputError) as caught:
        parse_gt_text(gt, n_alt, "f.vcf", "record 4 (1:10)")
    assert str(caught.value) == f"f.vcf: record 4 (1:10): {problem}"


def test_dosage_rows_split_like_bcftools_norm():
    """Calls 1/2, 0/1, 2 (haploid), ./1, 2/2, . (haploid missing); 2 ALT alleles.

    ALT-1 column counts allele 1, ALT-2 column counts allele 2; missing anywhere → −1."""
    a1 = np.array([1, 0, 2, -1, 2, -1], dtype=np.int16)
    a2 = np.array([2, 1, -2, 1, 2, -2], dtype=np.int16)
    hap = np.array([False, False, True, False, False, True])
    rows, called_haploid = dosage_rows(a1, a2, hap, 2)
    assert rows.dtype == np.int8
    assert rows.tolist() == [[1, 1, 0, -1, 0, -1], [1, 0, 1, -1, 2, -1]]
    assert called_haploid.tolist() == [False, False, True, False, False, False]
    # no ALT: one column, every called dosage 0
    rows, _ = dosage_rows(np.array([0, -1], np.int16), np.array([0, 0], np.int16), np.array([False, False]), 0)
    assert rows.tolist() == [[0, -1]]


# --- the per-line decoder ------------------------------------------------------------------------


def _line(*fields: str) -> bytes:
    return "\t".join(fields).encode() + b"\r\n"


def test_decode_line_by_hand():
    line = _line("1", "10", "rs1", "A", "C,G", ".", "PASS", ".", "DP:GT", "5:0/1", "7:2|2", "3")
    meta, a1, a2, hap, has_gt = decode_line(line, 3, None, 1, "f.vcf")
    assert meta == ("1", 10, "rs1", "A", ["C", "G"], "PASS")
    assert (a1.tolist(), a2.tolist(), hap.tolist(), has_gt) == ([0, 2, -1], [1, 2, -2], [False, False, True], True)
    assert a1.dtype == np.int16
    # a subset of samples (file columns 2 and 0), in the order given
    meta, a1, a2, hap, _ = decode_line(line, 3, np.array([2, 0]), 1, "f.vcf")
    assert (a1.tolist(), a2.tolist(), hap.tolist()) == ([-1, 0], [-2, 1], [True, False])


def test_decode_line_without_gt_is_all_missing():
    line = _line("1", "10", ".", "A", ".", ".", ".", ".", "DP", "5", "7")
    meta, a1, a2, hap, has_gt = decode_line(line, 2, None, 1, "f.vcf")
    assert meta == ("1", 10, ".", "A", [], ".")
    assert (a1.tolist(), a2.tolist(), hap.tolist(), has_gt) == ([-1, -1], [-1, -1], [False, False], False)


def test_decode_line_errors_are_exact_lines():
    with pytest.raises(InputError) as caught:
        decode_line(_line("1", "10", ".", "A", "C", ".", ".", ".", "GT", "0/1"), 2, None, 5, "f.vcf")
    assert str(caught.value) == "f.vcf: record 5: expected 11 tab-separated columns, found 10"
    with pytest.raises(InputError) as caught:
        decode_line(_line("1", "1x", ".", "A", "C", ".", ".", ".", "GT", "0/1"), 1, None, 6, "f.vcf")
    assert str(caught.value) == "f.vcf: record 6 (1:1x): POS '1x' is not an integer"
    with pytest.raises(InputError) as caught:
        decode_line(_line("2", "30", ".", "A", "C", ".", ".", ".", "GT", "0/5"), 1, None, 7, "f.vcf")
    assert str(caught.value) == "f.vcf: record 7 (2:30): GT '0/5' refers to allele 5 but the record has 1 ALT allele(s)"


# --- dosages from DS and GP ----------------------------------------------------------------------


def test_parse_dose_bounds_and_float32():
    assert math.isnan(parse_dose(b".", "f.vcf", "record 1"))
    assert parse_dose(b"0", "f", "r") == 0.0 and parse_dose(b"2", "f", "r") == 2.0
    assert parse_dose(b"0.1", "f", "r") == float(np.float32(0.1)) != 0.1
    for text in (b"2.0001", b"-0.1", b"abc", b"nan", b"inf"):
        with pytest.raises(InputError) as caught:
            parse_dose(text, "f.vcf", "record 2 (1:5)")
        assert str(caught.value) == f"f.vcf: record 2 (1:5): DS '{text.decode()}' is not a dosage between 0 and 2"
    with pytest.raises(InputError) as caught:
        parse_dose(b"3", "f.vcf", "record 2", what="GP")
    assert str(caught.value) == "f.vcf: record 2: GP '3' is not a dosage between 0 and 2"


def _gp_reference(probs: list[float], n_alt: int) -> list[float]:
    """ALT dosages by listing genotypes a/b (a ≤ b) in VCF order: for b, for a ≤ b."""
    genotypes = [(a, b) for b in range(n_alt + 1) for a in range(b + 1)]
    if len(probs) == n_alt + 1:  # haploid
        return probs[1:]
    pairs = list(zip(probs, genotypes, strict=True))
    doses = [sum(p * ((a == j) + (b == j)) for p, (a, b) in pairs) for j in range(1, n_alt + 1)]
    return [min(2.0, d) for d in doses]


@pytest.mark.parametrize(
    ("text", "n_alt"),
    [
        ("0.1,0.3,0.6", 1),  # 0.3 + 2·0.6 = 1.5
        ("0.2,0.8", 1),  # haploid: P(ALT)
        ("0.05,0.1,0.15,0.2,0.25,0.25", 2),  # 0/0 0/1 1/1 0/2 1/2 2/2
        ("0.1,0.2,0.7", 2),  # haploid with 2 ALT
        ("0,1,1", 1),  # sums over 1: capped at 2
        ("1,0,0", 0),  # no ALT: one column
    ],
)
def test_gp_dosages_equal_the_genotype_listing(text, n_alt):
    probs = [float(p) for p in text.split(",")]
    expected = _gp_reference(probs, max(n_alt, 1))
    assert gp_dosages(text.encode(), n_alt, "f", "r") == pytest.approx(expected, abs=1e-12)


def test_gp_dosages_hand_values_and_errors():
    assert gp_dosages(b"0.1,0.3,0.6", 1, "f", "r") == pytest.approx([1.5])
    assert gp_dosages(b"0,1,1", 1, "f", "r") == [2.0]
    assert gp_dosages(b".", 1, "f", "r") is None
    assert gp_dosages(b"", 1, "f", "r") is None
    assert gp_dosages(b".,.,.", 1, "f", "r") is None
    with pytest.raises(InputError) as caught:
        gp_dosages(b"0.5,0.5,0,0", 1, "f.vcf", "record 3")
    assert str(caught.value) == (
        "f.vcf: record 3: GP '0.5,0.5,0,0' has 4 values; a record with 1 ALT allele(s) needs 2 (haploid) or 3 (diploid)"
    )
    for text in ("1.5,0,0", "-0.1,1,0", "a,b,c", "0.5,.,0.5"):
        with pytest.raises(InputError) as caught:
            gp_dosages(text.encode(), 1, "f.vcf", "record 3")
        assert str(caught.value) == f"f.vcf: record 3: GP '{text}' is not a list of probabilities"


def test_ds_rows_first_present_wins():
    """Per sample: DS, else GP, else the GT dosage (−1 → NaN); 1 ALT."""
    gt = np.array([[1, 2, -1, 0, -1]], dtype=np.int8)
    ds = [b"0.5", b".", None, b".", None]
    gp = [b"1,0,0", b"0,0,1", b"0.2,0.8,0", None, b"."]
    rows = ds_rows(gt, ds, gp, 1, "f", "r")
    assert rows.dtype == np.float32
    expected = np.array([[0.5, 2.0, 0.8, 0.0, np.nan]], dtype=np.float32)
    np.testing.assert_array_equal(rows, expected)


def test_ds_rows_two_alt_and_errors():
    gt = np.array([[1, 0], [0, 0]], dtype=np.int8)
    rows = ds_rows(gt, [b"0.25,1.5", b"."], [None, None], 2, "f", "r")
    np.testing.assert_array_equal(rows, np.array([[0.25, 0], [1.5, 0]], dtype=np.float32))
    with pytest.raises(InputError) as caught:
        ds_rows(gt, [b"0.5", None], [None, None], 2, "f.vcf", "record 9 (1:4)")
    assert str(caught.value) == "f.vcf: record 9 (1:4): DS '0.5' has 1 value(s) for 2 ALT allele(s)"
    with pytest.raises(InputError) as caught:
        ds_rows(gt, [b".,0.5", None], [None, None], 2, "f.vcf", "record 9 (1:4)")
    assert str(caught.value) == "f.vcf: record 9 (1:4): DS '.,0.5' is missing for some ALT alleles only"
    # every ALT value missing: falls back to GP, then GT
    rows = ds_rows(gt, [b".,.", b".,."], [b"0,0,0,1,0,0", None], 2, "f", "r")
    np.testing.assert_array_equal(rows, np.array([[0, 0], [1, 0]], dtype=np.float32))


# --- chunk specs and results --------------------------------------------------------------------


def test_chunk_spec_describe_and_round_trip():
    spec = ChunkSpec(3, first_record=10, n_records=5, offset=100, end_offset=250)
    assert spec.describe() == "records 10-14"
    assert spec.to_dict() == {"index": 3, "first_record": 10, "n_records": 5, "offset": 100, "end_offset": 250}
    assert ChunkSpec.from_dict(spec.to_dict()) == spec
    plain = ChunkSpec(0, first_record=0, n_records=1)
    assert plain.describe() == "records 0-0"
    assert plain.to_dict() == {"index": 0, "first_record": 0, "n_records": 1}
    assert ChunkSpec.from_dict(plain.to_dict()) == plain
    region = ChunkSpec(2, region=Region("X", 5, 9))
    assert region.describe() == "X:5-9"
    assert region.to_dict() == {"index": 2, "chrom": "X", "start": 5, "end": 9}
    assert ChunkSpec.from_dict(region.to_dict()) == region
    assert ChunkSpec(0, first_record=0, n_records=0, offset=0, end_offset=0).offset == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "a chunk is either a record range or a region"),
        ({"first_record": 0, "n_records": 1, "region": Region("1")}, "a chunk is either a record range or a region"),
        ({"first_record": -1, "n_records": 1}, "record range needs first_record >= 0 and n_records >= 0"),
        ({"first_record": 0}, "record range needs first_record >= 0 and n_records >= 0"),
        ({"first_record": 0, "n_records": -1}, "record range needs first_record >= 0 and n_records >= 0"),
        ({"region": Region("1"), "offset": 0}, "a seek offset belongs to a record range and is >= 0"),
        ({"first_record": 0, "n_records": 1, "offset": -1}, "a seek offset belongs to a record range and is >= 0"),
        ({"first_record": 0, "n_records": 1, "end_offset": 5}, "end_offset needs an offset and is >= it"),
        ({"first_record": 0, "n_records": 1, "offset": 6, "end_offset": 5}, "end_offset needs an offset and is >= it"),
    ],
)
def test_chunk_spec_refuses_inconsistent_fields(kwargs, message):
    with pytest.raises(ValueError) as caught:
        ChunkSpec(0, **kwargs)
    assert str(caught.value) == message


@pytest.mark.parametrize("with_haploid", [False, True])
def test_chunk_result_save_load_round_trip(tmp_path, with_haploid):
    dosage = np.array([[0, 1, -1], [2, 0, 1]], dtype=np.int8)
    result = ChunkResult(
        source="data/x.vcf",
        spec=ChunkSpec(1, first_record=4, n_records=2, offset=9),
        samples=["A", "B", "C"],
        chrom=["1", "X"],
        pos=np.array([10, 20], dtype=np.int64),
        variant_id=["rs1", "."],
        ref=["A", "G"],
        alt=["C", "T"],
        filter=["PASS", "q10"],
        split_multiallelic=np.array([True, False]),
        dosage_by_variant=dosage,
        haploid=np.array([[False, True, False], [False, False, False]]) if with_haploid else None,
        load_counts={"records_read": 7, "records_removed_filter": 1},
        sample_n_missing=np.array([0, 0, 1], dtype=np.int64),
        variant_n_missing=np.array([1, 0], dtype=np.int64),
    )
    path = tmp_path / "c.npz"
    result.save(path)
    back = ChunkResult.load(path)
    assert (back.source, back.spec) == (result.source, result.spec)
    assert (back.samples, back.chrom) == (["A", "B", "C"], ["1", "X"])
    assert (back.variant_id, back.ref, back.alt, back.filter) == (["rs1", "."], ["A", "G"], ["C", "T"], ["PASS", "q10"])
    assert back.pos.tolist() == [10, 20] and back.split_multiallelic.tolist() == [True, False]
    assert back.dosage_by_variant.tolist() == dosage.tolist() and back.n_variants == 2
    assert back.load_counts == {"records_read": 7, "records_removed_filter": 1}
    assert back.sample_n_missing.tolist() == [0, 0, 1] and back.variant_n_missing.tolist() == [1, 0]
    if with_haploid:
        assert back.haploid.tolist() == result.haploid.tolist()
    else:
        assert back.haploid is None


# --- statistics -----------------------------------------------------------------------------------


def test_variant_counts_by_hand_with_haploid_calls():
    """Variant 1: 0/0 0/1 1/1 ./. and a haploid 1 → AC 4, AN 2+2+2+1 = 7, called 4, het 1.
    Variant 2: haploid 0, haploid 1, 0/1, 0/1, missing → AC 3, AN 1+1+2+2 = 6, het 2, hom-ref 0."""
    d = np.array([[0, 1, 2, -1, 1], [0, 1, 1, 1, -1]], dtype=np.int8)
    hap = np.array([[False, False, False, False, True], [True, True, False, False, False]])
    c = variant_counts(d, hap)
    assert c.ac.tolist() == [4, 3] and c.an.tolist() == [7, 6]
    assert c.n_called.tolist() == [4, 4] and c.n_missing.tolist() == [1, 1]
    assert c.n_hom_ref.tolist() == [1, 0] and c.n_het.tolist() == [1, 2] and c.n_hom_alt.tolist() == [1, 0]
    diploid = variant_counts(d, None)
    assert diploid.an.tolist() == [8, 8] and diploid.n_het.tolist() == [2, 3] and diploid.n_hom_ref.tolist() == [1, 1]


def test_variant_counts_float_dosages():
    """AC = sum of dosages, AN = 2 × non-missing; hardcalls within 0.1 of 0/1/2."""
    d = np.array([[0.0, 0.95, 2.0, np.nan, 0.5]], dtype=np.float32)
    c = variant_counts(d, None)
    assert c.ac[0] == pytest.approx(3.45, abs=1e-6) and c.an.tolist() == [8]
    assert c.n_missing.tolist() == [1] and c.n_called.tolist() == [4]
    assert (c.n_hom_ref.tolist(), c.n_het.tolist(), c.n_hom_alt.tolist()) == ([1], [1], [1])


def test_frequencies_and_maf_filter_by_hand():
    af = allele_frequency(np.array([0, 3, 5, 0]), np.array([4, 4, 8, 0]))
    assert af[:3].tolist() == [0.0, 0.75, 0.625] and math.isnan(af[3])
    maf = minor_allele_frequency(af)
    assert maf[:3].tolist() == [0.0, 0.25, 0.375] and math.isnan(maf[3])
    # minor AC ≥ MIN·AN, inclusive, on either side; AN = 0 fails
    ac = np.array([1, 99, 0, 0, 2, 98, 1.5])
    an = np.array([100, 100, 100, 0, 100, 100, 100])
    assert passes_min_maf(ac, an, 0.01).tolist() == [True, True, False, False, True, True, True]
    assert passes_min_maf(ac, an, 0.02).tolist() == [False, False, False, False, True, True, False]
    assert passes_min_maf(np.array([0]), np.array([10]), 0.0).tolist() == [True]


def test_missing_rate_by_hand():
    assert missing_rate(np.array([0, 1, 4]), 4).tolist() == [0.0, 0.25, 1.0]
    empty = missing_rate(np.array([0, 0]), 0)
    assert empty.shape == (2,) and np.isnan(empty).all()


def test_hwe_exact_small_cases_by_hand():
    """2 people, alleles A A B B: het 0 has probability 1/3, het 2 has 2/3 (the SNPHWE recursion)."""
    assert hwe_exact_p(0, 1, 1) == pytest.approx(1 / 3)
    assert hwe_exact_p(0, 1, 1, midp=True) == pytest.approx(1 / 6)
    assert hwe_exact_p(2, 0, 0) == 1.0
    assert hwe_exact_p(0, 0, 0) == 1.0
    assert hwe_exact_p(0, 5, 0) == 1.0 and hwe_exact_p(0, 5, 0, midp=True) == 0.5
    with pytest.raises(ValueError, match="negative genotype count"):
        hwe_exact_p(-1, 2, 2)
    with pytest.raises(ValueError, match="negative genotype count"):
        hwe_exact_p(1, -2, 2)
    with pytest.raises(ValueError, match="negative genotype count"):
        hwe_exact_p(1, 2, -2)
    # hwe_p_values takes (hom_ref, het, hom_alt) per variant
    p = hwe_p_values(np.array([1, 0, 4]), np.array([0, 2, 0]), np.array([1, 0, 0]))
    assert p.tolist() == pytest.approx([1 / 3, 1.0, 1.0])
    assert hwe_p_values(np.array([1]), np.array([0]), np.array([1]), midp=True).tolist() == pytest.approx([1 / 6])


# --- gather: the whole result of a hand-worked file ------------------------------------------------


def _vcf(path, samples, rows):
    header = (
        "##fileformat=VCFv4.2\n##contig=<ID=1,length=1000>\n"
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(samples) + "\n"
    )
    lines = ["\t".join(["1", str(pos), vid, "A", alt, ".", filt, ".", "GT", *gts]) for pos, vid, alt, filt, gts in rows]
    path.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def _described(values, label):
    """filters.describe re-implemented: median, 10th and 90th percentile of the finite values."""
    a = np.asarray(values, dtype=float)
    a = a[np.isfinite(a)]
    p10, median, p90 = np.percentile(a, [10, 50, 90])
    return f"{label}: median {median:.4g}, 10th percentile {p10:.4g}, 90th percentile {p90:.4g} (n={a.size})"


HAND_ROWS = [
    (10, "v1", "C", "PASS", ["0/0", "0/1", "1/1", "./."]),
    (20, "v2", "C", ".", ["0/0", "0/0", "0/0", "./."]),
    (30, "v3", "G", "PASS", ["0/1", "./.", "./.", "./."]),
    (40, "v4", "T", "q10", ["1/1", "1|1", "0/1", "0/1"]),
]


@pytest.fixture(params=["memory", "npy"])
def hand_result(request, tmp_path):
    """Samples' missing rates 0, 1/4, 1/4, 3/4: --mind 0.5 removes D. Over A-C: v1 AC 3/6; v2 AC 0
    (MAF 0 < 0.1); v3 missing 2/3 > 0.3; v4 AC 5/6 (MAF 1/6 ≥ 0.1). Kept: v1, v4."""
    path = _vcf(tmp_path / "hand.vcf", list("ABCD"), HAND_ROWS)
    params = FilterParams(min_maf=0.1, max_variant_missing=0.3, max_sample_missing=0.5)
    target = None if request.param == "memory" else tmp_path / "dosage.npy"
    return gather([read_all(path)], params, dosage_path=target), params


def test_gather_hand_worked_matrix_tables_and_qc(hand_result):
    g, params = hand_result
    assert np.asarray(g.dosage).tolist() == [[0, 2], [1, 2], [2, 1]]
    assert g.samples["sample_id"].tolist() == ["A", "B", "C"]
    assert g.samples["missing_rate"].tolist() == [0.0, 0.0, 0.0]
    assert g.samples["missing_rate_loaded"].tolist() == [0.0, 0.25, 0.25]
    v = g.variants
    assert list(v.columns) == [
        "chrom", "pos", "id", "ref", "alt", "counted_allele", "AC", "AN", "AF", "MAF", "missing_rate", "filter",
        "split_multiallelic",
    ]  # fmt: skip
    assert v["id"].tolist() == ["v1", "v4"] and v["pos"].tolist() == [10, 40] and v["alt"].tolist() == ["C", "T"]
    assert v["counted_allele"].tolist() == ["C", "T"] and v["filter"].tolist() == ["PASS", "q10"]
    assert v["AC"].tolist() == [3, 5] and v["AN"].tolist() == [6, 6]
    assert v["AF"].tolist() == [0.5, 5 / 6] and v["MAF"].tolist() == pytest.approx([0.5, 1 / 6])
    assert v["missing_rate"].tolist() == [0.0, 0.0] and v["split_multiallelic"].tolist() == [False, False]
    assert g.qc == {
        "sources": ["hand.vcf"],
        "dosage": "GT (int8, -1 missing)",
        "filters": {"min_maf": 0.1, "max_variant_missing": 0.3, "max_sample_missing": 0.5, "hwe_p": None,
                    "hwe_midp": False},
        "filter_order": ["load (regions, samples, FILTER, multiallelic)", "mind", "geno", "hwe", "maf"],
        "records_read": 4,
        "records_without_gt": 0,
        "records_removed": {"region": 0, "filter": 0, "multiallelic": 0},
        "records_split_multiallelic": 0,
        "samples_before": 4,
        "samples_removed": {"mind": 1},
        "samples_removed_ids": {"mind": ["D"]},
        "samples_after": 3,
        "variants_before": 4,
        "variants_removed": {"geno": 1, "hwe": 0, "maf": 1},
        "variants_after": 2,
        "missing_genotype_rate_before": 5 / 16,  # 1 + 1 + 3 + 0 of 4 × 4
        "missing_genotype_rate_after": 0.0,
    }  # fmt: skip
    steps = [(s.name, s.unit, s.before, s.after, s.threshold, s.distribution) for s in g.filter_steps]
    assert steps == [
        ("mind", "samples", 4, 3, "max_sample_missing 0.5: missing rate > threshold removed",
         _described([0, 0.25, 0.25, 0.75], "missing rate per sample")),
        ("geno", "variants", 4, 3, "max_variant_missing 0.3: missing rate > threshold removed",
         _described([0, 0, 2 / 3, 0], "missing rate per variant")),
        ("maf", "variants", 3, 2, "min_maf 0.1: MAF >= threshold kept",
         _described([0.5, 0.0, 1 / 6], "MAF per variant")),
    ]  # fmt: skip
    assert g.source.endswith("hand.vcf")


def test_gather_hwe_step_column_and_order(tmp_path):
    """HWE over A-D (no sample filter): v4 has 2 hom-alt + 2 het; p by the exact test. A tiny p-threshold
    above v4's p removes it at the hwe step, before maf sees it."""
    path = _vcf(tmp_path / "hand.vcf", list("ABCD"), HAND_ROWS)
    p_v4 = hwe_exact_p(2, 0, 2)
    params = FilterParams(min_maf=0.1, max_variant_missing=None, max_sample_missing=None, hwe_p=p_v4 * 1.01)
    g = gather([read_all(path)], params)
    assert "hwe_p" in g.variants.columns and g.variants.columns[-1] == "hwe_p"
    assert g.qc["variants_removed"]["hwe"] >= 1 and "v4" not in g.variants["id"].tolist()
    names = [s.name for s in g.filter_steps]
    assert names == ["hwe", "maf"]
    hwe_step = g.filter_steps[0]
    assert hwe_step.threshold == f"hwe_p {p_v4 * 1.01:g}: exact-test p < threshold removed"
    assert (hwe_step.before, hwe_step.after) == (4, 4 - g.qc["variants_removed"]["hwe"])
    assert hwe_step.distribution.startswith("HWE exact-test p per variant: median ")
    kept = gather([read_all(path)], FilterParams(min_maf=None, max_variant_missing=None, max_sample_missing=None,
                                                 hwe_p=p_v4))  # fmt: skip
    assert "v4" in kept.variants["id"].tolist()  # p == threshold is kept (removed only when p < threshold)
    assert kept.variants.loc[kept.variants["id"] == "v4", "hwe_p"].tolist() == [p_v4]


def test_gather_refuses_chunks_that_do_not_fit(tmp_path):
    a = read_all(_vcf(tmp_path / "a.vcf", ["A", "B"], [(10, "v1", "C", "PASS", ["0/1", "0/0"])]))
    b = read_all(_vcf(tmp_path / "b.vcf", ["A", "C"], [(20, "v2", "C", "PASS", ["0/1", "0/0"])]))
    with pytest.raises(InputError) as caught:
        gather([a, b])
    assert (
        str(caught.value)
        == f"{tmp_path / 'b.vcf'}: chunk records 0-{2**62 - 1} has different samples from the first chunk"
    )
    with pytest.raises(ValueError, match="gather needs at least one chunk"):
        gather([])


# --- steps --------------------------------------------------------------------------------------------


def test_describe_filters_in_plink2_words():
    params = FilterParams(min_maf=0.05, max_variant_missing=0.1, max_sample_missing=0.2, hwe_p=1e-6, hwe_midp=True)
    options = LoadOptions(regions=(Region("1", 5, 9), Region("X")), samples=("A", "B"), pass_only=True)
    assert describe_filters(params, options) == [
        "regions 1:5-9, X (POS inside)",
        "samples: 2 selected",
        "FILTER PASS or .",
        "--mind 0.2 (sample missing rate > threshold removed)",
        "--geno 0.1 (variant missing rate > threshold removed)",
        "--hwe 1e-06 midp (exact test p < threshold removed)",
        "--maf 0.05 = bcftools view -q 0.05:minor (MAF >= threshold kept)",
    ]
    ds = LoadOptions(pass_only=True, missing_filter_passes=False, dosage_field="DS")
    assert describe_filters(FilterParams(min_maf=None, hwe_p=0.001), ds) == [
        "FILTER PASS only",
        "--mind 0.1 dosage (sample missing rate > threshold removed)",
        "--geno 0.1 dosage (variant missing rate > threshold removed)",
        "--hwe 0.001 (exact test p < threshold removed)",
    ]
    assert describe_filters(FilterParams(None, None, None), LoadOptions()) == []


def test_chunk_options_load_options_and_plan_index(tmp_path):
    options = ChunkOptions(
        regions=("1:5-9", "X"),
        samples=("A", "B"),
        pass_only=True,
        missing_filter_passes=False,
        multiallelic="drop",
        dosage_field="GT",
    )
    load = options.load_options()
    assert load == LoadOptions(
        regions=(Region("1", 5, 9), Region("X")),
        samples=("A", "B"),
        pass_only=True,
        missing_filter_passes=False,
        multiallelic="drop",
        dosage_field="GT",
    )
    none = dataclasses.replace(options, regions=None, samples=None).load_options()
    assert none.regions is None and none.samples is None
    path = _vcf(tmp_path / "h.vcf", list("ABCD"), HAND_ROWS)
    chunk_plan = {"chunks": [ChunkSpec(0, first_record=0, n_records=2).to_dict()]}
    for index in (1, -1):
        with pytest.raises(ValueError) as caught:
            read_planned_chunk(path, chunk_plan, index, options)
        assert str(caught.value) == f"chunk {index} is not in the plan (1 chunks)"
    chunk = read_planned_chunk(path, chunk_plan, 0, dataclasses.replace(options, regions=("1:15-20",)))
    assert chunk.samples == ["A", "B"] and chunk.variant_id == []  # v2 (20) has FILTER '.', refused by PASS only
    chunk = read_planned_chunk(path, chunk_plan, 0, dataclasses.replace(options, regions=None, pass_only=False))
    assert chunk.samples == ["A", "B"] and chunk.variant_id == ["v1", "v2"]
    assert chunk.load_counts["records_read"] == 2


def test_check_format_names_the_file_and_both_formats(tmp_path):
    path = _vcf(tmp_path / "h.vcf", list("AB"), [(10, "v1", "C", "PASS", ["0/1", "0/0"])])
    assert check_format(path, "auto") == "vcf" and check_format(path, "vcf") == "vcf"
    with pytest.raises(InputError) as caught:
        check_format(path, "bcf")
    assert str(caught.value) == f"{path}: the card says format bcf but the file is VCF"


def test_check_kept_per_unit_limits(hand_result):
    """hand_result kept 3 of 4 samples (mind) and 2 of 4 variants (geno -1, maf -1)."""
    g, params = hand_result

    def options(limit):
        return GatherOptions(
            min_maf=params.min_maf,
            max_variant_missing=params.max_variant_missing,
            max_sample_missing=params.max_sample_missing,
            hwe_p=None,
            hwe_midp=False,
            min_fraction_kept=limit,
            load=ChunkOptions(None, None, False, True, "split", "GT"),
            metadata=None,
        )

    check_kept(g, options({"samples": 0.75, "variants": 0.5}))  # exactly at both limits: kept
    check_kept(g, options(0.5))
    with pytest.raises(InputError) as caught:
        check_kept(g, options({"samples": 0.76, "variants": None}))
    assert str(caught.value).startswith(f"{g.source}: filters: the filters kept 3 of 4 samples (75.0%")
    with pytest.raises(InputError) as caught:
        check_kept(g, options({"samples": None, "variants": 0.51}))
    assert str(caught.value).startswith(f"{g.source}: filters: the filters kept 2 of 4 variants (50.0%")
    with pytest.raises(InputError, match="kept 3 of 4 samples"):
        check_kept(g, options(0.8))


# --- vcfio: header, records, offsets --------------------------------------------------------------

_CHROM_LINE = b"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tA\tB\n"


def test_vcf_header_by_hand():
    text = b"\xef\xbb\xbf##fileformat=VCFv4.2\r\n##FORMAT=<ID=GT,Number=1>\r\n" + _CHROM_LINE + b"1\t5\n"
    header = vcfio.VcfHeader.parse("f.vcf", text, complete=True)
    assert header.samples == ["A", "B"] and header.declares_gt
    assert header.data_start == text.index(b"1\t5")
    no_gt = vcfio.VcfHeader.parse("f.vcf", b"##fileformat=VCFv4.2\n" + _CHROM_LINE, complete=True)
    assert not no_gt.declares_gt and no_gt.data_start == len(b"##fileformat=VCFv4.2\n" + _CHROM_LINE)
    assert vcfio.VcfHeader.parse("f.vcf", b"##fileformat=VCFv4.2\n##x", complete=False) is None
    assert vcfio.VcfHeader.parse("f.vcf", b"", complete=False) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"", "f.vcf: empty file: no VCF header"),
        (b"##fileformat=VCFv4.2\n##x\n", "f.vcf: the header ends without a #CHROM line (truncated header?)"),
        (b"##fileformat=VCFv4.2\n##x", "f.vcf: the header ends without a #CHROM line (truncated header?)"),
        (
            b"chr1\t5\n",
            "f.vcf: not a VCF: the first line is neither '##fileformat=VCF...' nor '#CHROM...' (wrong file, or a "
            "compressed file with another name?)",
        ),
        (b"##fileformat=VCFv4.2\n##x\n1\t5\n", "f.vcf: line 3: no #CHROM header line before the first data line"),
        (
            b"##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n",
            "f.vcf: #CHROM line: the VCF has no sample columns (a sites-only VCF has no genotypes)",
        ),
        (
            b"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tA\tB\tA\n",
            "f.vcf: #CHROM line: duplicate sample id 'A' (columns 10 and 12)",
        ),
        (
            b"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tA\t\xff\n",
            "f.vcf: the #CHROM line is not UTF-8 text (invalid start byte at byte 48)",
        ),
    ],
)
def test_vcf_header_errors_are_exact_lines(text, message):
    with pytest.raises(InputError) as caught:
        vcfio.VcfHeader.parse("f.vcf", text, complete=True)
    assert str(caught.value) == message


def test_check_has_gt_by_hand():
    header = vcfio.VcfHeader.parse("f.vcf", _CHROM_LINE, complete=True)
    vcfio.check_has_gt(header, b"1\t5\t.\tA\tC\t.\t.\t.\tDP:GT\t1:0/1\t2:0/0\r\n")
    vcfio.check_has_gt(header, b"1\t5\t.\tA\tC\t.\t.\t.\tDS\t1\t0", (b"GT", b"DS", b"GP"))
    for first, keys, wanted in (
        (b"1\t5\t.\tA\tC\t.\t.\t.\tDS\t1\t0", (b"GT",), "GT"),
        (None, (b"GT", b"DS", b"GP"), "GT/DS/GP"),
        (b"1\t5\t.\tA\tC\t.\t.\t.", (b"GT",), "GT"),
    ):
        with pytest.raises(InputError) as caught:
            vcfio.check_has_gt(header, first, keys)
        assert str(caught.value) == (
            f"f.vcf: no {wanted} FORMAT field (the header declares none and the first record has none): "
            "there are no genotypes to read"
        )
    declared = vcfio.VcfHeader.parse("f.vcf", b"##FORMAT=<ID=GT,Number=1>\n" + _CHROM_LINE, complete=True)
    vcfio.check_has_gt(declared, None)


def test_record_offsets_and_first_record_by_hand(tmp_path):
    head = b"##fileformat=VCFv4.2\n" + _CHROM_LINE
    lines = [b"1\t%d\t.\tA\tC\t.\t.\t.\tGT\t0/1\t0/0\n" % (10 * (i + 1)) for i in range(5)]
    body = b"\n" + lines[0] + lines[1] + b"\n\n" + lines[2] + lines[3] + lines[4]
    path = tmp_path / "o.vcf"
    path.write_bytes(head + body)
    # a chunk's seek position is the byte after the previous record's line end (blank lines between
    # records belong to the next chunk, whose reader skips them); the first is the data start. Offsets
    # are listed for records 0, every, 2·every, ... up to n itself (the end; callers drop it).
    starts = [len(head)] + [len(head) + body.index(line) + len(line) for line in lines]
    assert vcfio.record_offsets(path, 0) == (5, [])
    assert vcfio.record_offsets(path, 2) == (5, [len(head), starts[2], starts[4]])
    assert vcfio.record_offsets(path, 1) == (5, starts)
    assert vcfio.record_offsets(path, 5) == (5, [len(head), starts[5]])
    assert vcfio.VcfText(path).first_record() == lines[0].rstrip(b"\n")
    assert vcfio.VcfText(path).samples == ["A", "B"]
    empty = tmp_path / "e.vcf"
    empty.write_bytes(head + b"\n\n")
    assert vcfio.VcfText(empty).first_record() is None and vcfio.record_offsets(empty, 3) == (0, [len(head)])


def test_region_query_and_index_path(tmp_path):
    assert vcfio.region_query("chr1", 5, 9) == "chr1:5-9"
    assert vcfio.region_query("HLA-A*01:01", 1, 2**31 - 1) == "{HLA-A*01:01}:1-2147483646"
    path = tmp_path / "x.vcf.gz"
    path.write_bytes(b"")
    assert vcfio.index_path(path) is None
    (tmp_path / "x.vcf.gz.csi").write_bytes(b"")
    assert vcfio.index_path(path) == tmp_path / "x.vcf.gz.csi"
    (tmp_path / "x.vcf.gz.tbi").write_bytes(b"")
    assert vcfio.index_path(path) == tmp_path / "x.vcf.gz.tbi"


def test_gather_options_params_round_trip_and_count_records(tmp_path):
    """as_params gives builtins only (Snakemake tracks them); from_params gives the same options back."""
    options = GatherOptions(
        min_maf=0.01,
        max_variant_missing=0.1,
        max_sample_missing=None,
        hwe_p=1e-6,
        hwe_midp=True,
        min_fraction_kept={"samples": 0.5, "variants": None},
        load=ChunkOptions(("1:5-9",), ("A",), True, False, "drop", "GT"),
        metadata=MetadataOptions(None, "tsv", True, "sample", "na", freeze({"pop": "population"})),
    )
    plain = options.as_params()
    assert plain["load"] == {
        "regions": ("1:5-9",),
        "samples": ("A",),
        "pass_only": True,
        "missing_filter_passes": False,
        "multiallelic": "drop",
        "dosage_field": "GT",
    }
    assert plain["metadata"] == {
        "sha256": None,
        "format": "tsv",
        "header": True,
        "id_column": "sample",
        "unmatched": "na",
        "columns": {"pop": "population"},
    }
    assert type(plain["metadata"]["columns"]) is dict and type(plain["load"]) is dict
    assert (plain["min_maf"], plain["hwe_p"], plain["hwe_midp"]) == (0.01, 1e-6, True)
    back = GatherOptions.from_params(plain)
    assert back == options and back.filter_params() == FilterParams(0.01, 0.1, None, 1e-6, True)
    without = dataclasses.replace(options, metadata=None)
    assert without.as_params()["metadata"] is None and GatherOptions.from_params(without.as_params()) == without
    path = _vcf(tmp_path / "h.vcf", list("ABCD"), HAND_ROWS)
    assert count_records(path) == 4


def _card(**sections):
    params = {
        "min_maf": 0.05,
        "max_variant_missing": 0.2,
        "max_sample_missing": 0.3,
        "hwe_p": None,
        "hwe_midp": False,
        "min_fraction_kept": 0.25,
        "regions": ["2:1-100"],
        "samples": None,
        "pass_only": False,
        "missing_filter_passes": True,
        "multiallelic": "split",
        "dosage_field": "DS",
    }
    return {"params": params, **sections}


def test_gather_options_from_card_reads_every_field_and_the_metadata_section():
    """Each field from where the card keeps it (params, metadata, columns), written out by hand."""
    card = _card(
        metadata={"sha256": "ab" * 32, "format": "csv", "header": False, "id_column": 2, "unmatched": "na"},
        columns={"pop": 1},
    )
    options = GatherOptions.from_card(card)
    assert options.metadata == MetadataOptions(
        sha256="ab" * 32, format="csv", header=False, id_column=2, unmatched="na", columns=freeze({"pop": 1})
    )
    assert options.load == ChunkOptions(("2:1-100",), None, False, True, "split", "DS")
    assert (options.min_maf, options.max_variant_missing, options.max_sample_missing) == (0.05, 0.2, 0.3)
    assert (options.hwe_p, options.hwe_midp, options.min_fraction_kept) == (None, False, 0.25)
    # sha256 and format are optional (no default), columns absent or empty mean "every column"
    bare = {"header": True, "id_column": "sample", "unmatched": "error"}
    for columns in ({}, None):
        sections = {"metadata": bare} if columns is None else {"metadata": bare, "columns": columns}
        assert MetadataOptions.from_card(_card(**sections)) == MetadataOptions(
            sha256=None, format=None, header=True, id_column="sample", unmatched="error", columns=None
        )
    assert MetadataOptions.from_card(_card(columns={"pop": 1})) is None  # no metadata section
    plain = GatherOptions.from_card(_card(metadata=bare)).as_params()  # metadata without columns
    assert plain["metadata"] == {**bare, "sha256": None, "format": None, "columns": None}
    assert MetadataOptions.from_card(_card(metadata=None)) is None


def test_package_lazy_names_by_hand():
    """The package's PEP 562 hooks, called directly (mutmut's parent process has resolved the
    names already, so only a direct call runs them mutated)."""
    import importlib

    import genoprep.variants as package

    records = importlib.import_module("genoprep.variants.records")
    assert package.__getattr__("parse_region") is records.parse_region
    assert package.__getattr__("Region") is records.Region
    with pytest.raises(AttributeError) as info:
        package.__getattr__("no_such_name")
    assert str(info.value) == "module 'genoprep.variants' has no attribute 'no_such_name'"
    listed = package.__dir__()
    assert listed == sorted(listed) and {"gather", "read_all", "write_artifacts", "count_records"} <= set(listed)
    assert "__getattr__" in listed  # the module's own globals too
    saved = vars(package).pop("plan_chunks", None)  # resolved again below, and kept on the package
    try:
        value = package.__getattr__("plan_chunks")
        assert value is importlib.import_module("genoprep.variants.chunks").plan_chunks
        assert vars(package)["plan_chunks"] is value
    finally:
        if saved is not None:
            vars(package)["plan_chunks"] = saved


def _resident_kib(path) -> int:
    """Resident KiB of this process's mappings of ``path`` (/proc/self/smaps)."""
    total, inside = 0, False
    for line in Path("/proc/self/smaps").read_text(encoding="utf-8").splitlines():
        if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
            inside = line.endswith(str(path))
        elif inside and line.startswith("Rss:"):
            total += int(line.split()[1])
    return total


@pytest.mark.skipif(not hasattr(__import__("mmap"), "MADV_DONTNEED"), reason="needs madvise(MADV_DONTNEED) (Linux)")
def test_release_writes_the_pages_back_and_drops_them(tmp_path):
    """gather's memory bound: after ``_release`` the written matrix is in the file and none of
    its pages stays resident in this process (read in /proc/self/smaps, not from genoprep)."""
    from genoprep.variants.gather import _release

    path = tmp_path / "m.npy"
    matrix = np.lib.format.open_memmap(path, mode="w+", dtype=np.int8, shape=(64, 65536))
    matrix[:] = 1
    matrix[3, 5] = -1
    assert _resident_kib(path) >= 4096 - 64  # 4 MiB written through the map
    _release(matrix)
    assert _resident_kib(path) == 0
    assert matrix[3, 5] == -1 and int(matrix.sum(dtype=np.int64)) == 64 * 65536 - 2  # read back from the file
    del matrix
    back = np.load(path)
    assert back[3, 5] == -1 and int(back.sum(dtype=np.int64)) == 64 * 65536 - 2


def _labels_case(tmp_path):
    path = _vcf(tmp_path / "l.vcf", list("ABC"), [(10, "v1", "C", "PASS", ["0/1", "1/1", "0/0"])])
    off = FilterParams(min_maf=None, max_variant_missing=None, max_sample_missing=None)
    return gather([read_all(path)], off)


def test_join_sample_labels_reads_the_table_as_the_card_says(tmp_path):
    """sha256, format, header and id_column of the metadata section each change what is read;
    the expected labels are written by hand from the table."""
    import hashlib

    from genoprep.variants.steps import join_sample_labels

    # tab-separated under a .csv name, no header, ids in the second column
    table = tmp_path / "meta.csv"
    table.write_text("YRI\tC\t1,5\nGBR\tA\t2,5\nCHB\tB\t3,5\n", encoding="utf-8")
    digest = hashlib.sha256(table.read_bytes()).hexdigest()
    meta = MetadataOptions(digest, "tsv", False, 1, "error", freeze({"pop": 0, "score": 2}))
    result = _labels_case(tmp_path)
    assert join_sample_labels(result, table, meta) == ["pop", "score"]
    assert result.samples["pop"].tolist() == ["GBR", "CHB", "YRI"]
    assert result.samples["score"].tolist() == ["2,5", "3,5", "1,5"]
    wrong = dataclasses.replace(meta, sha256="0" * 64)
    with pytest.raises(InputError) as info:
        join_sample_labels(_labels_case(tmp_path), table, wrong)
    assert str(info.value) == f"{table}: sha256 is {digest}, but the card says {'0' * 64}"
    # a label column that is not in the table: the line names the metadata file and the card field
    missing = dataclasses.replace(meta, columns=freeze({"pop": 7}))
    with pytest.raises(InputError) as info:
        join_sample_labels(_labels_case(tmp_path), table, missing)
    assert str(info.value) == f"{table}: columns: columns.pop names column 7, which is not there (available: 0, 2)"


def test_join_sample_labels_refuses_labels_that_replace_computed_columns(tmp_path):
    from genoprep.variants.steps import join_sample_labels

    table = tmp_path / "meta.tsv"
    table.write_text("sample\tmissing_rate\tsample_id\tpop\nA\t1\t2\tx\nB\t3\t4\ty\nC\t5\t6\tz\n", encoding="utf-8")
    meta = MetadataOptions(None, None, True, "sample", "error", None)  # every column is a label
    result = _labels_case(tmp_path)
    with pytest.raises(InputError) as info:
        join_sample_labels(result, table, meta)
    assert str(info.value) == (
        f"{table}: columns: columns: missing_rate, sample_id would replace a column genoprep computes"
    )
    assert list(result.samples.columns) == ["sample_id", "missing_rate", "missing_rate_loaded"]


def test_count_records_of_a_bcf_and_of_a_damaged_one(tmp_path):
    """A BCF written by bcftools from the hand-worked VCF holds its 4 records; a BGZF file with
    the BCF magic and no header is one line naming the file."""
    import gzip
    import subprocess

    from tests.variant_tools import need

    need("bcftools")
    rows = [(pos, vid, alt, "PASS", gts) for pos, vid, alt, _, gts in HAND_ROWS]  # bcftools wants FILTERs declared
    text = _vcf(tmp_path / "h.vcf", list("ABCD"), rows)
    bcf = tmp_path / "h.bcf"
    subprocess.run(["bcftools", "view", "-Ob", "-o", str(bcf), str(text)], check=True, capture_output=True)
    assert vcfio.is_bcf(bcf) and count_records(bcf) == 4 and count_records(text) == 4
    bad = tmp_path / "bad.bcf"
    bad.write_bytes(gzip.compress(b"BCF\x02\x02\xff\x00\x00\x00##fileformat=VCFv4.2\n"))
    with pytest.raises(InputError) as info:
        count_records(bad)
    assert str(info.value).startswith(f"{bad}: cannot open as BCF: ")


def _chunk_files(tmp_path, path, load, n_per_chunk):
    """The file read in chunks of ``n_per_chunk`` records, each saved as the chunk job does."""
    from genoprep.variants import read_chunk

    n = count_records(path)
    files = []
    for index, first in enumerate(range(0, n, n_per_chunk)):
        chunk = read_chunk(path, ChunkSpec(index, first_record=first, n_records=n_per_chunk), load)
        files.append(tmp_path / f"chunk{index}.npz")
        chunk.save(files[-1])
    return files


def test_gather_dataset_facts_qc_and_labels_by_hand(tmp_path):
    """gather_dataset on the hand-worked VCF in two chunks: the .npy it writes, qc["load_options"],
    the labels joined over the kept samples, and the whole facts dict, written out here."""
    from genoprep.provenance import software_versions
    from genoprep.variants.steps import SEMANTICS, SOFTWARE, gather_dataset

    path = _vcf(tmp_path / "hand.vcf", list("ABCD"), HAND_ROWS)
    load = ChunkOptions(("1:5-45",), tuple("ABCD"), True, True, "split", "GT")
    files = _chunk_files(tmp_path, path, load.load_options(), 2)
    table = tmp_path / "meta.tsv"
    table.write_text("sample\tpop\nD\tw\nC\tz\nB\ty\nA\tx\n", encoding="utf-8")
    options = GatherOptions(
        min_maf=0.1,
        max_variant_missing=0.3,
        max_sample_missing=0.5,
        hwe_p=None,
        hwe_midp=False,
        min_fraction_kept=0.0,
        load=load,
        metadata=MetadataOptions(None, None, True, "sample", "error", freeze({"pop": "pop"})),
    )
    target = tmp_path / "dosage.npy"
    result, steps, facts = gather_dataset(files, options, table, target)
    # FILTER q10 drops v4 at load; D misses all 3 calls left (> 0.5); over A-C v2 is monomorphic
    # (MAF 0) and v3 misses 2 of 3 (> 0.3): v1 alone is kept
    expected = np.array([[0], [1], [2]], dtype=np.int8)
    assert np.array_equal(np.load(target), expected) and np.array_equal(result.dosage, expected)
    assert steps is result.filter_steps and [s.name for s in steps] == ["mind", "geno", "maf"]
    assert result.qc["load_options"] == {
        "regions": ["1:5-45"],
        "samples": 4,
        "pass_only": True,
        "missing_filter_passes": True,
        "multiallelic": "split",
        "dosage_field": "GT",
    }
    assert result.samples["pop"].tolist() == ["x", "y", "z"]
    assert facts == {
        "n_samples": 3,
        "n_variants": 1,
        "n_chunks": 2,
        "sample_labels": ["pop"],
        "missing_genotype_rate": 0.0,
        "preprocessing": {
            "software": software_versions(SOFTWARE),
            **SEMANTICS,
            "multiallelic": "split into one biallelic column per ALT (bcftools norm -m-)",
            "filters": [
                "regions 1:5-45 (POS inside)",
                "samples: 4 selected",
                "FILTER PASS or .",
                "--mind 0.5 (sample missing rate > threshold removed)",
                "--geno 0.3 (variant missing rate > threshold removed)",
                "--maf 0.1 = bcftools view -q 0.1:minor (MAF >= threshold kept)",
            ],
        },
    }
    assert list(facts["preprocessing"]) == ["software", *SEMANTICS, "multiallelic", "filters"]
    # metadata options without a metadata file (or a file without options): no labels
    for meta_path, meta in ((None, options.metadata), (table, None)):
        bare = dataclasses.replace(options, metadata=meta)
        result, _, facts = gather_dataset(files, bare, meta_path)
        assert facts["sample_labels"] == [] and "pop" not in result.samples and "metadata" not in result.qc


def test_gather_dataset_dosage_semantics_and_no_genotype_errors(tmp_path):
    from genoprep.variants.steps import SEMANTICS, SEMANTICS_DS, gather_dataset

    header = (
        "##fileformat=VCFv4.2\n##contig=<ID=1,length=1000>\n"
        '##FORMAT=<ID=DS,Number=A,Type=Float,Description="Dosage">\n'
        '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tA\tB\n"
    )
    ds = tmp_path / "ds.vcf"
    ds.write_text(header + "1\t5\t.\tA\tC\t.\tPASS\t.\tDS\t0.5\t1.25\n", encoding="utf-8")
    load = ChunkOptions(None, None, False, True, "drop", "DS")
    off = dict(min_maf=None, max_variant_missing=None, max_sample_missing=None, hwe_p=None, hwe_midp=False)
    options = GatherOptions(**off, min_fraction_kept=0.0, load=load, metadata=None)
    result, _, facts = gather_dataset(_chunk_files(tmp_path, ds, load.load_options(), 5), options)
    assert result.dosage.dtype == np.float32 and result.dosage.tolist() == [[0.5], [1.25]]
    assert {k: v for k, v in facts["preprocessing"].items() if k not in ("software", "filters")} == {
        **SEMANTICS,
        **SEMANTICS_DS,
        "multiallelic": "records with more than one ALT dropped",
    }
    assert facts["preprocessing"]["filters"] == [] and result.qc["load_options"]["regions"] is None
    assert result.qc["load_options"]["samples"] is None and result.qc["load_options"]["dosage_field"] == "DS"
    # no genotype field in any record: one line naming the file and the fields looked for
    depth = tmp_path / "dp.vcf"
    depth.write_text(header + "1\t5\t.\tA\tC\t.\tPASS\t.\tDP\t3\t4\n", encoding="utf-8")
    for field, words in (("DS", "DS, GP or GT"), ("GT", "GT")):
        load = dataclasses.replace(options.load, dosage_field=field)
        files = _chunk_files(tmp_path, depth, load.load_options(), 5)
        with pytest.raises(InputError) as info:
            gather_dataset(files, dataclasses.replace(options, load=load))
        assert str(info.value) == f"{depth}: no record has a {words} field: there are no genotypes to read"


def test_check_has_gt_reads_the_ninth_tab_field_only():
    """FORMAT is the 9th tab-separated field: a space inside INFO, a record with no sample
    column, a CR line end and a key that only starts with GT, each worked by hand."""
    header = vcfio.VcfHeader.parse("f.vcf", _CHROM_LINE, complete=True)
    vcfio.check_has_gt(header, b"1\t5\t.\tA\tC\t.\t.\tNOTE=a b\tGT\t0/1\t0/0")
    vcfio.check_has_gt(header, b"1\t5\t.\tA\tC\t.\t.\t.\tGT")  # nine fields
    vcfio.check_has_gt(header, b"1\t5\t.\tA\tC\t.\t.\t.\tGT\r")
    with pytest.raises(InputError, match="no GT FORMAT field"):
        vcfio.check_has_gt(header, b"1\t5\t.\tA\tC\t.\t.\t.\tGTX\r")


def test_first_record_of_a_file_whose_first_record_is_on_chr_x(tmp_path):
    path = tmp_path / "x.vcf"
    line = "X\t5\t.\tA\tC\t.\t.\t.\tGT\t0/1\t1"
    path.write_bytes(_CHROM_LINE.replace(b"\n", b"\r\n") + b"\r\n\r\n" + line.encode() + b"\r\n")
    assert vcfio.VcfText(path).first_record() == line.encode() + b"\r"


def test_plan_by_hand(tmp_path):
    """plan(): format, checksum, sample count and chunks of a hand-written VCF, its BCF and its
    indexed BGZF (region windows), and the one-line refusals."""
    import hashlib
    import subprocess

    from genoprep.variants.steps import PlanOptions, plan
    from tests.variant_tools import need

    rows = [(pos, vid, alt, "PASS", gts) for pos, vid, alt, _, gts in HAND_ROWS]
    path = _vcf(tmp_path / "h.vcf", list("ABCD"), rows)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    card = {"input": {"format": "auto", "sha256": digest}, "params": {}}
    card["params"] = {"records_per_chunk": 3, "region_bp": None, "dosage_field": "GT"}
    options = PlanOptions.from_card(card)
    assert options == PlanOptions(format="auto", sha256=digest, records_per_chunk=3, region_bp=None, dosage_field="GT")
    planned = plan(path, options)
    assert [planned[k] for k in ("format", "input_sha256", "n_samples")] == ["vcf", digest, 4]
    assert list(planned) == ["format", "input_sha256", "n_samples", "chunks"]
    assert [(c["first_record"], c["n_records"]) for c in planned["chunks"]] == [(0, 3), (3, 1)]
    with pytest.raises(InputError) as info:
        plan(path, dataclasses.replace(options, sha256="0" * 64))
    assert str(info.value) == f"{path}: sha256 is {digest}, but the card says {'0' * 64}"
    # a DS-only VCF: refused for GT, planned for DS (GT, DS or GP)
    ds = tmp_path / "ds.vcf"
    ds.write_bytes(_CHROM_LINE + b"1\t5\t.\tA\tC\t.\t.\t.\tGP\t0,1,0\t1,0,0\n")
    ds_options = dataclasses.replace(options, sha256=None, dosage_field="DS")
    assert plan(ds, ds_options)["n_samples"] == 2
    for key, value in ((b"DS", b"0.5"), (b"GT", b"0/1")):  # each of the three keys is enough for DS
        one = tmp_path / f"{key.decode()}.vcf"
        one.write_bytes(_CHROM_LINE + b"1\t5\t.\tA\tC\t.\t.\t.\t" + key + b"\t" + value + b"\t" + value + b"\n")
        assert plan(one, ds_options)["n_samples"] == 2
    card["params"]["region_bp"] = 25
    assert PlanOptions.from_card(card).region_bp == 25
    with pytest.raises(InputError, match="no GT FORMAT field"):
        plan(ds, dataclasses.replace(ds_options, dosage_field="GT"))
    need("bcftools", "bgzip", "tabix")
    bcf = tmp_path / "h.bcf"
    subprocess.run(["bcftools", "view", "-Ob", "-o", str(bcf), str(path)], check=True, capture_output=True)
    planned = plan(bcf, dataclasses.replace(options, sha256=None))
    assert (planned["format"], planned["n_samples"], len(planned["chunks"])) == ("bcf", 4, 2)
    bad = tmp_path / "bad.bcf"
    bad.write_bytes(__import__("gzip").compress(b"BCF\x02\x02\xff\x00\x00\x00##fileformat=VCFv4.2\n"))
    with pytest.raises(InputError) as info:
        plan(bad, dataclasses.replace(options, sha256=None))
    assert str(info.value).startswith(f"{bad}: cannot open as BCF: ")
    subprocess.run(["bgzip", "-k", str(path)], check=True)
    subprocess.run(["tabix", "-p", "vcf", f"{path}.gz"], check=True)
    windows = plan(Path(f"{path}.gz"), dataclasses.replace(options, sha256=None, region_bp=25))["chunks"]
    # contig 1 (length 1000) in windows of 25 bases; records at 10, 20, 30, 40 start in two of them
    assert [(c["chrom"], c["start"], c["end"]) for c in windows] == [("1", 1, 25), ("1", 26, 50)]


def test_options_pass_every_field_on():
    options = GatherOptions(
        min_maf=0.2,
        max_variant_missing=0.3,
        max_sample_missing=0.4,
        hwe_p=1e-3,
        hwe_midp=True,
        min_fraction_kept=None,
        load=ChunkOptions(None, ("B",), True, False, "drop", "DS"),
        metadata=None,
    )
    assert options.filter_params() == FilterParams(0.2, 0.3, 0.4, 1e-3, True)
    assert options.load.load_options() == LoadOptions(
        samples=("B",), pass_only=True, missing_filter_passes=False, multiallelic="drop", dosage_field="DS"
    )


def test_dose_errors_show_bytes_that_are_not_utf8_as_replacement_characters():
    """A damaged DS/GP field (a byte that is not UTF-8) is still one line, the byte shown as U+FFFD."""
    bad = b"0.\xff"
    with pytest.raises(InputError) as caught:
        parse_dose(bad, "f.vcf", "record 2")
    assert str(caught.value) == "f.vcf: record 2: DS '0.\ufffd' is not a dosage between 0 and 2"
    with pytest.raises(InputError) as caught:
        gp_dosages(b"0.5,\xff,0.5", 1, "f.vcf", "record 3")
    assert str(caught.value) == "f.vcf: record 3: GP '0.5,\ufffd,0.5' is not a list of probabilities"
    gt = np.array([[1, 0], [0, 0]], dtype=np.int8)
    with pytest.raises(InputError) as caught:
        ds_rows(gt, [b"\xff", None], [None, None], 2, "f.vcf", "record 9")
    assert str(caught.value) == "f.vcf: record 9: DS '\ufffd' has 1 value(s) for 2 ALT allele(s)"
    # a GP error found through ds_rows names the file and the record
    with pytest.raises(InputError) as caught:
        ds_rows(gt[:1], [None, None], [b"2,0,0", None], 1, "f.vcf", "record 4")
    assert str(caught.value) == "f.vcf: record 4: GP '2,0,0' is not a list of probabilities"


# --- seventh round (sample of 500, 2026-11-30): the text route's columns, cyvcf2 route errors, BGZF line blocks ---


def _bgzf_block(data: bytes) -> bytes:
    """One BGZF block written by hand (SAM spec 4.1): a gzip member with the ``BC`` extra field
    holding the block size − 1, raw deflate, CRC32 and the text length."""
    deflater = zlib.compressobj(6, zlib.DEFLATED, -15)
    body = deflater.compress(data) + deflater.flush()
    header = b"\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\xff" + struct.pack("<H2sHH", 6, b"BC", 2, 18 + len(body) + 8 - 1)
    return header + body + struct.pack("<II", zlib.crc32(data), len(data))


def test_bgzf_line_blocks_cut_after_the_last_newline_once_the_block_size_is_reached(tmp_path):
    """Three BGZF blocks of 6, 5 and 5 text bytes, line blocks of 6 bytes: the first block is
    6 bytes of whole lines; the second ends mid-line, its partial line moves on and the third
    completes it. Each line block is whole lines, the same text in order."""
    pieces = [b"aa\nbb\n", b"cc\ndd", b"d\nee\n"]
    path = tmp_path / "t.txt.gz"
    path.write_bytes(b"".join(_bgzf_block(p) for p in pieces) + _bgzf_block(b""))
    assert vcfio.is_bgzf(path)
    for recycle in (0, 3):
        blocks = [bytes(b) for b in vcfio.line_blocks(path, block_bytes=6, recycle=recycle)]
        assert b"".join(blocks) == b"".join(pieces)
        assert all(b.endswith(b"\n") for b in blocks)
        assert blocks[0] == b"aa\nbb\n" and len(blocks[0]) >= 6


def test_capacity_is_the_chunk_record_count_or_a_bound_from_the_text_size(tmp_path):
    """Rows reserved: the planned chunk's record count; for a whole file (2**62 records) or a
    region, text size // (2 × samples) + 1 (a record holds at least two bytes per sample);
    never more than 1 GiB of rows."""
    from genoprep.variants import ingest

    path = tmp_path / "x.vcf"
    path.write_bytes(b"x" * 1001)
    assert ingest._capacity(path, ChunkSpec(0, first_record=0, n_records=7), 4, 4, 1) == 7
    assert ingest._capacity(path, ChunkSpec(0, first_record=0, n_records=2**62), 4, 4, 1) == 1001 // 8 + 1
    assert ingest._capacity(path, ChunkSpec(0, region=parse_region("1:1-100")), 4, 2, 1) == 1001 // 8 + 1
    assert ingest._capacity(path, ChunkSpec(0, first_record=0, n_records=7), 4, 2**29, 4) == 1


def test_plan_region_chunks_refuses_a_window_below_one_base(tmp_path):
    from genoprep.variants.chunks import plan_region_chunks

    with pytest.raises(ValueError, match=r"^region_bp must be >= 1$"):
        plan_region_chunks(tmp_path / "absent.vcf.gz", 0)


def test_find_libdeflate_prefers_the_copy_beside_cyvcf2():
    """The libdeflate wheel copy in ``cyvcf2.libs`` comes first (found without importing cyvcf2)."""
    import ctypes
    import glob
    import importlib.util

    origin = Path(importlib.util.find_spec("cyvcf2").origin).resolve()
    beside = sorted(glob.glob(str(origin.parent.parent / "cyvcf2.libs" / "libdeflate*.so*")))
    lib = vcfio._find_libdeflate()
    if beside:
        assert isinstance(lib, ctypes.CDLL) and lib._name == beside[0]
    else:
        assert lib is None or "libdeflate" in lib._name


def test_text_route_columns_and_called_haploid_mask_by_hand(tmp_path):
    """Fully decoded lines (the vectorised columns pass): ID, REF, ALT and FILTER exactly as
    written; a haploid call (chrX of a male) is marked in ``haploid`` and counts its ALT once."""
    rows = [
        (10, "rs10", "C", "PASS", ["0/1", "1/1"]),
        (20, "rs20", "G", "q10", ["1", "0/1"]),
        (30, "rs30", "T", ".", ["0", "1"]),
    ]
    chunk = read_all(_vcf(tmp_path / "h.vcf", ["A", "B"], rows), engine="text")
    assert chunk.chrom == ["1", "1", "1"] and chunk.pos.tolist() == [10, 20, 30]
    assert chunk.variant_id == ["rs10", "rs20", "rs30"]
    assert chunk.ref == ["A", "A", "A"] and chunk.alt == ["C", "G", "T"]
    assert chunk.filter == ["PASS", "q10", "."]
    assert chunk.dosage_by_variant.tolist() == [[1, 2], [1, 1], [0, 1]]
    assert chunk.haploid.tolist() == [[False, False], [True, False], [True, True]]


def _cyvcf2_vcf(path, samples, fmt, rows, extra_header=""):
    header = (
        "##fileformat=VCFv4.2\n##contig=<ID=1,length=1000>\n"
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        '##FORMAT=<ID=GP,Number=G,Type=Float,Description="Genotype probabilities">\n'
        '##FORMAT=<ID=DS,Number=A,Type=Float,Description="Dosage">\n' + extra_header + "#CHROM\tPOS\tID\tREF\tALT"
        "\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(samples) + "\n"
    )
    lines = ["\t".join(["1", str(pos), f"v{pos}", "A", alt, ".", "PASS", ".", fmt, *cells]) for pos, alt, cells in rows]
    path.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_cyvcf2_route_errors_name_the_record_by_its_number(tmp_path):
    """Without a region, the cyvcf2 route's errors count records from the start of the file."""
    tri = _cyvcf2_vcf(tmp_path / "tri.vcf", ["A", "B"], "GT", [(10, "C", ["0/1", "0/0"]), (20, "C", ["0/1/1", "0/0"])])
    with pytest.raises(InputError) as caught:
        read_all(tri, engine="cyvcf2")
    assert str(caught.value) == f"{tri}: record 2 (1:20): ploidy 3; only haploid and diploid calls are supported"
    bad = _cyvcf2_vcf(tmp_path / "bad.vcf", ["A", "B"], "GT", [(10, "C", ["0/1", "0/0"]), (20, "C", ["2/0", "0/0"])])
    with pytest.raises(InputError) as caught:
        read_all(bad, engine="cyvcf2")
    assert str(caught.value) == f"{bad}: record 2 (1:20): GT refers to allele 2 but the record has 1 ALT allele(s)"


def test_cyvcf2_route_one_sample_gp_only_record_in_ds_mode(tmp_path):
    """One sample, FORMAT GP alone: DS mode takes P(het) + 2 P(hom ALT) = 0.2 + 2 × 0.7 = 1.6."""
    path = _cyvcf2_vcf(tmp_path / "gp.vcf", ["A"], "GP", [(10, "C", ["0.1,0.2,0.7"])])
    for engine in ("cyvcf2", "text"):
        chunk = read_all(path, LoadOptions(dosage_field="DS"), engine=engine)
        assert chunk.dosage_by_variant.shape == (1, 1) and chunk.dosage_by_variant[0, 0] == pytest.approx(1.6)
        assert chunk.load_counts["records_without_gt"] == 0


def test_decode_line_ds_splits_on_tabs_only_and_keeps_the_last_field_whole():
    """INFO may hold a space (VCF 4.3); the DS of the last sample is read as written, so a
    damaged one ("1.5X") is an error, not silently 1.5."""
    line = b"1\t10\tv1\tA\tC\t.\tPASS\tNOTE=a b\tGT:DS\t0/1:0.25\t1/1:1.75\n"
    meta, rows, has_any = decode_line_ds(line, 2, None, 3, "f.vcf")
    assert meta[:2] == ("1", 10) and has_any
    assert rows.tolist() == [[0.25, 1.75]]
    with pytest.raises(InputError) as caught:
        decode_line_ds(b"1\t10\tv1\tA\tC\t.\tPASS\t.\tGT:DS\t0/1:0.25\t1/1:1.5X\n", 2, None, 3, "f.vcf")
    assert str(caught.value) == "f.vcf: record 3 (1:10): DS '1.5X' is not a dosage between 0 and 2"


def test_bgzf_text_pieces_seek_and_stop_inside_blocks(tmp_path):
    """text_pieces of a hand-written BGZF file (blocks of 6, 5, 5 text bytes): small pieces are
    still the whole text; a start 2 bytes into block 2 and a stop 2 bytes into block 3 (virtual
    offsets: compressed block start << 16 | byte in block) cut the text exactly there."""
    pieces = [b"aa\nbb\n", b"cc\ndd", b"d\nee\n"]
    blocks = [_bgzf_block(p) for p in pieces]
    path = tmp_path / "t.txt.gz"
    path.write_bytes(b"".join(blocks) + _bgzf_block(b""))
    starts = [0, len(blocks[0]), len(blocks[0]) + len(blocks[1])]

    def text(**kw):
        return b"".join(bytes(p) for p in vcfio.text_pieces(path, **kw))

    assert text(piece_bytes=4) == b"".join(pieces)
    assert text(start=starts[1] << 16 | 2, piece_bytes=4) == b"\ndd" + b"d\nee\n"
    assert text(stop=starts[2] << 16 | 2) == b"aa\nbb\ncc\nddd\n"
    assert text(stop=starts[2] << 16) == b"aa\nbb\ncc\ndd"


def test_a_corrupt_bgzf_block_is_one_line_naming_the_file_and_its_offset(tmp_path):
    """A block whose deflate data is damaged (BTYPE 11, reserved) after an intact one."""
    good = _bgzf_block(b"aa\nbb\n")
    body = b"\xff" * 10
    bad = b"\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\xff" + struct.pack("<H2sHH", 6, b"BC", 2, 18 + len(body) + 8 - 1)
    bad += body + struct.pack("<II", 0, 6)
    path = tmp_path / "bad.txt.gz"
    path.write_bytes(good + bad + _bgzf_block(b""))
    with pytest.raises(InputError) as caught:
        list(vcfio.text_pieces(path))
    assert re.match(
        rf"^{re.escape(str(path))}: corrupt BGZF block at compressed byte offset {len(good)} \(", str(caught.value)
    )


def test_write_artifacts_into_a_folder_that_exists(tmp_path):
    """The workflow's dataset folder exists before the artifacts are written (Snakemake makes it)."""
    from genoprep.variants.artifacts import write_artifacts

    path = _vcf(tmp_path / "hand.vcf", list("ABCD"), HAND_ROWS)
    g = gather([read_all(path)], FilterParams(min_maf=None, max_variant_missing=None, max_sample_missing=None))
    out = tmp_path / "out"
    out.mkdir()
    paths = write_artifacts(g, out)
    # samples x variants, ALT counts of HAND_ROWS by hand, -1 missing
    assert np.load(paths["dosage"]).tolist() == [[0, 0, 1, 2], [1, 0, -1, 2], [2, 0, -1, 1], [-1, -1, -1, 1]]


@pytest.mark.parametrize("fmt", ["DP:GT", "GT:DP"])
def test_text_route_per_line_decoder_applies_the_load_filters(tmp_path, fmt):
    """FORMAT DP:GT (GT second: every line goes to the per-line decoder) or GT:DP (the scan decodes
    every line: the vectorised columns pass). PASS only removes v20 (q10), ``drop`` removes the
    multi-allelic v30; the rows left are v10's and v40's."""
    header = (
        "##fileformat=VCFv4.2\n##contig=<ID=1,length=1000>\n"
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tA\tB\n"
    )
    rows = [
        ("10", "C", "PASS", "3:0/1", "4:1/1"),
        ("20", "G", "q10", "3:1/1", "4:1/1"),
        ("30", "G,T", "PASS", "3:1/2", "4:0/2"),
        ("40", "T", ".", "3:0/0", "4:0|1"),
    ]
    if fmt == "GT:DP":
        rows = [
            (pos, alt, filt, ":".join(a.split(":")[::-1]), ":".join(b.split(":")[::-1]))
            for pos, alt, filt, a, b in rows
        ]
    lines = [f"1\t{pos}\tv{pos}\tA\t{alt}\t.\t{filt}\t.\t{fmt}\t{a}\t{b}\n" for pos, alt, filt, a, b in rows]
    path = tmp_path / "dpgt.vcf"
    path.write_text(header + "".join(lines), encoding="utf-8")
    chunk = read_all(path, LoadOptions(pass_only=True, multiallelic="drop"), engine="text")
    assert chunk.variant_id == ["v10", "v40"]
    assert chunk.dosage_by_variant.tolist() == [[1, 2], [0, 1]]
    split = read_all(path, LoadOptions(pass_only=True), engine="text")
    assert split.variant_id == ["v10", "v30", "v30", "v40"] and split.alt == ["C", "G", "T", "T"]
    assert split.dosage_by_variant.tolist() == [[1, 2], [1, 0], [1, 1], [0, 1]]


def test_text_route_pos_that_is_not_a_number_is_one_line(tmp_path):
    """A POS that is not plain digits sends its block to the per-line decoder, which names it."""
    path = _vcf(tmp_path / "pos.vcf", ["A", "B"], [(10, "v1", "C", "PASS", ["0/1", "0/0"])])
    path.write_text(path.read_text() + "1\t2O\tv2\tA\tC\t.\tPASS\t.\tGT\t0/1\t1/1\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_all(path, engine="text")
    assert str(caught.value) == f"{path}: record 2 (1:2O): POS '2O' is not an integer"


def test_vcf_text_first_record_when_the_text_comes_in_many_line_blocks(tmp_path):
    """Line blocks of 16 bytes (one per BGZF block): the first data line is still the first record,
    and the data blocks after it hold every data line once."""
    rows = [(10, "v1", "C", "PASS", ["0/1", "0/0"]), (20, "v2", "G", "PASS", ["1/1", "0/1"])]
    text = _vcf(tmp_path / "m.vcf", ["A", "B"], rows).read_bytes()
    header_end = text.index(b"\n1\t10\t") + 1
    line_2 = text.index(b"1\t20\t")
    path = tmp_path / "m.vcf.gz"  # the header, each data line and the end in BGZF blocks of their own
    pieces = [text[:header_end], text[header_end:line_2], text[line_2:]]
    path.write_bytes(b"".join(_bgzf_block(p) for p in pieces) + _bgzf_block(b""))
    vcf = vcfio.VcfText(path, block_bytes=16)
    assert vcf.first_record() == b"1\t10\tv1\tA\tC\t.\tPASS\t.\tGT\t0/1\t0/0"
    data = b"".join(bytes(b) for b in vcf.data_blocks())
    assert [line for line in data.split(b"\n") if line] == [
        b"1\t10\tv1\tA\tC\t.\tPASS\t.\tGT\t0/1\t0/0",
        b"1\t20\tv2\tA\tG\t.\tPASS\t.\tGT\t1/1\t0/1",
    ]


def test_chunk_result_load_refuses_pickled_objects(tmp_path):
    """A chunk file is plain arrays: one holding Python objects (a pickle) is refused, not unpickled."""
    path = tmp_path / "c.npz"
    np.savez(path, header=np.array("{}"), samples=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="allow_pickle=False"):
        ChunkResult.load(path)


def test_cyvcf2_route_record_with_only_haploid_calls(tmp_path):
    """chrX of two males: every call of v20 is haploid (ALT counts 1 and 0, both marked haploid);
    v10 mixes a diploid and a haploid call."""
    path = _cyvcf2_vcf(tmp_path / "x.vcf", ["A", "B"], "GT", [(10, "C", ["0/1", "1"]), (20, "C", ["1", "0"])])
    for engine in ("cyvcf2", "text"):
        chunk = read_all(path, engine=engine)
        assert chunk.dosage_by_variant.tolist() == [[1, 1], [1, 0]]
        assert chunk.haploid.tolist() == [[False, True], [True, True]]


def test_plain_text_line_blocks_small_blocks_and_a_line_longer_than_the_buffer(tmp_path):
    """Uncompressed text read 4 KiB at a time into 16-byte line blocks, with one line of 1.1 MiB
    (longer than the block buffer's 1 MiB slack): whole lines, the same text in order."""
    lines = [b"a\tb\n", b"x" * (1100 * 1024) + b"\n", b"cc\tdd\n", b"e\n"]
    path = tmp_path / "t.txt"
    path.write_bytes(b"".join(lines))
    blocks = [bytes(b) for b in vcfio.line_blocks(path, block_bytes=16, read_size=4096)]
    assert b"".join(blocks) == b"".join(lines)
    assert all(b.endswith(b"\n") for b in blocks) and len(blocks) >= 2


# --- eighth round (issue 16): last round's survivor in virtual_offsets ---


def test_virtual_offsets_refuse_an_offset_a_whole_block_past_its_start(tmp_path):
    """A BGZF block may hold 65,536 text bytes at most, so a virtual offset's in-block part is
    0..65535. One block whose ISIZE footer is corrupt (claims 100,000 bytes): text offset 65,535
    is still block 0, offset 65,535; 65,536 cannot be written as a virtual offset and is refused."""
    block = bytearray(_bgzf_block(b"ab\n"))
    block[-4:] = struct.pack("<I", 100_000)
    path = tmp_path / "t.txt.gz"
    path.write_bytes(bytes(block) + _bgzf_block(b""))
    assert vcfio.virtual_offsets(path, [0, 2, 65_535]) == [0, 2, 65_535]
    with pytest.raises(InputError) as caught:
        vcfio.virtual_offsets(path, [65_536])
    assert str(caught.value) == f"{path}: BGZF block table does not cover the text (corrupt ISIZE?)"
    second = len(block)  # a sound file: text offset 3 is the second block's first byte
    path.write_bytes(_bgzf_block(b"ab\n") + _bgzf_block(b"cd\n") + _bgzf_block(b""))
    assert vcfio.virtual_offsets(path, [1, 3, 5]) == [1, second << 16, (second << 16) | 2]


def test_a_chunk_with_no_variant_left_keeps_its_column_types(tmp_path):
    """Both records fail FILTER with pass_only: the chunk has 0 rows, and its columns keep the types
    of a chunk with rows (split_multiallelic bool, pos int64), in memory and after a save/load."""
    path = _vcf(
        tmp_path / "f.vcf",
        ["A", "B"],
        [(10, "v1", "C", "q10", ["0/1", "0/0"]), (20, "v2", "G,T", "q10", ["1/2", "0/1"])],
    )
    for engine in ("cyvcf2", "text"):
        chunk = read_all(path, LoadOptions(pass_only=True), engine=engine)
        assert chunk.n_variants == 0 and chunk.load_counts["records_removed_filter"] == 2
        chunk.save(tmp_path / "c.npz")
        for c in (chunk, ChunkResult.load(tmp_path / "c.npz")):
            assert (c.split_multiallelic.dtype, c.split_multiallelic.shape) == (np.dtype(bool), (0,))
            assert c.pos.dtype == np.int64 and c.pos.shape == (0,)
