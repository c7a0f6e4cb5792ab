"""Hand-made tiny VCFs with hand-computed expectations for genoprep.variants."""

from __future__ import annotations

import gzip
import itertools
import subprocess
from fractions import Fraction
from math import factorial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genoprep.errors import InputError
from genoprep.variants import (
    ChunkResult,
    ChunkSpec,
    FilterParams,
    LoadOptions,
    gather,
    parse_region,
    plan_chunks,
    plan_record_chunks,
    read_all,
    read_chunk,
    write_artifacts,
)
from genoprep.variants.stats import hwe_exact_p
from genoprep.variants.steps import MetadataOptions, join_sample_labels
from tests.conftest import require_tool

NO_FILTERS = FilterParams(min_maf=None, max_variant_missing=None, max_sample_missing=None)
GT_HEADER = (
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">\n'
)


def write_vcf(
    path: Path,
    samples: list[str],
    records: list[str],
    version: str = "4.2",
    contigs: bool = True,
    extra_header: str = "",
) -> Path:
    """Write a tiny VCF: records are tab-joined lines without the trailing newline."""
    header = f"##fileformat=VCFv{version}\n"
    if contigs:
        header += "##contig=<ID=1,length=100000>\n##contig=<ID=X,length=100000>\n"
    header += GT_HEADER + extra_header
    header += "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(samples) + "\n"
    path.write_text(header + "".join(r + "\n" for r in records))
    return path


def rec(
    chrom: str, pos: int, ref: str, alt: str, gts: list[str], filt: str = "PASS", fmt: str = "GT", vid: str = "."
) -> str:
    return "\t".join([chrom, str(pos), vid, ref, alt, ".", filt, ".", fmt, *gts])


@pytest.fixture(params=["text", "cyvcf2"])
def engine(request) -> str:
    return request.param


def test_half_missing_calls_are_missing(tmp_path, engine):
    p = write_vcf(
        tmp_path / "h.vcf", ["A", "B", "C", "D", "E"], [rec("1", 10, "A", "C", ["0/.", "./1", "./.", "1|1", "0/1"])]
    )
    r = read_all(p, engine=engine)
    assert r.dosage_by_variant.tolist() == [[-1, -1, -1, 2, 1]]
    g = gather([r], NO_FILTERS)
    # AC = 3 over AN = 4 called alleles (two called diploid genotypes).
    assert g.variants.loc[0, ["AC", "AN"]].tolist() == [3, 4]
    assert g.variants.loc[0, "missing_rate"] == pytest.approx(3 / 5)


def test_haploid_calls_count_one_allele(tmp_path, engine):
    p = write_vcf(
        tmp_path / "x.vcf",
        ["M1", "M2", "F1", "F2"],
        [
            rec("X", 100, "A", "G", ["1", "0", "0/1", "1/1"]),
            rec("X", 200, "A", "G", [".", "1", "0|0", "./."]),
        ],
    )
    r = read_all(p, engine=engine)
    assert r.dosage_by_variant.tolist() == [[1, 0, 1, 2], [-1, 1, 0, -1]]
    g = gather([r], NO_FILTERS)
    # AN: 1 + 1 + 2 + 2 = 6, AC = 1 + 0 + 1 + 2 = 4; second: AN = 1 + 2, AC = 1.
    assert g.variants[["AC", "AN"]].values.tolist() == [[4, 6], [1, 3]]
    assert g.variants["AF"].tolist() == pytest.approx([4 / 6, 1 / 3])


def test_no_contig_lines_and_vcf_4_0(tmp_path, engine):
    p = write_vcf(
        tmp_path / "old.vcf",
        ["A", "B"],
        [rec("1", 5, "T", "C", ["0/1", "1/1"]), rec("2", 7, "G", "A", ["0/0", "0/1"])],
        version="4.0",
        contigs=False,
    )
    r = read_all(p, engine=engine)
    assert r.chrom == ["1", "2"]
    assert r.dosage_by_variant.tolist() == [[1, 2], [0, 1]]


def test_filter_column_values_and_pass_only(tmp_path, engine):
    recs = [
        rec("1", 1, "A", "C", ["0/1"], filt="PASS"),
        rec("1", 2, "A", "C", ["0/1"], filt="."),
        rec("1", 3, "A", "C", ["0/1"], filt="q10;LowQual"),
        rec("1", 4, "A", "C", ["0/1"], filt="VQSRTrancheSNP99.80to100.00"),
    ]
    p = write_vcf(tmp_path / "f.vcf", ["A"], recs, extra_header='##FILTER=<ID=q10,Description="x">\n')
    everything = read_all(p, engine=engine)
    assert everything.filter == ["PASS", ".", "q10;LowQual", "VQSRTrancheSNP99.80to100.00"]
    plink_like = read_all(p, LoadOptions(pass_only=True), engine=engine)
    assert plink_like.pos.tolist() == [1, 2]
    bcftools_like = read_all(p, LoadOptions(pass_only=True, missing_filter_passes=False), engine=engine)
    assert bcftools_like.pos.tolist() == [1]
    assert bcftools_like.load_counts["records_removed_filter"] == 3


def test_multiallelic_split_matches_norm_m_minus_by_hand(tmp_path, engine):
    p = write_vcf(
        tmp_path / "m.vcf", list("ABCDEF"), [rec("1", 10, "A", "C,G", ["1/2", "0/2", "2/2", "./1", "0/.", "1"])]
    )
    r = read_all(p, engine=engine)
    # bcftools norm -m- writes 1/0 0/0 0/0 ./1 0/. 1 and 0/1 0/1 1/1 ./0 0/. 0
    assert r.alt == ["C", "G"]
    assert r.dosage_by_variant.tolist() == [[1, 0, 0, -1, -1, 1], [1, 1, 2, -1, -1, 0]]
    assert r.split_multiallelic.tolist() == [True, True]
    dropped = read_all(p, LoadOptions(multiallelic="drop"), engine=engine)
    assert dropped.n_variants == 0
    assert dropped.load_counts["records_removed_multiallelic"] == 1


def test_multi_digit_alleles_and_mixed_format(tmp_path, engine):
    alts = ",".join("CGTAN"[i % 5] * (i + 1) for i in range(11))
    p = write_vcf(
        tmp_path / "md.vcf",
        ["A", "B", "C"],
        [
            rec("1", 10, "A", alts, ["10/11", "0/11:5", "11"], fmt="GT:DP"),
            rec("1", 20, "A", "C", ["0/1:3", ".:.", "1/1:9"], fmt="GT:DP"),
            rec("1", 30, "A", "C", ["3:0/1", "4:1/1", ".:./."], fmt="DP:GT"),
        ],
    )
    r = read_all(p, engine=engine)
    d = r.dosage_by_variant
    assert d.shape == (13, 3)
    assert d[9].tolist() == [1, 0, 0] and d[10].tolist() == [1, 1, 1]
    assert (d[:9] == 0).all()
    assert d[11].tolist() == [1, -1, 2] and d[12].tolist() == [1, 2, -1]


@pytest.mark.parametrize(
    "bad, message",
    [
        (rec("1", 12, "A", "C", ["0/1", "0/A"]), "not a number"),
        (rec("1", 12, "A", "C", ["0/1", "0/2"]), "refers to allele 2"),
        (rec("1", 12, "A", "C", ["0/1"]), "tab-separated columns"),
        (rec("1", 12, "A", "C", ["0/1/1", "0/1"]), "ploidy 3"),
        ("1\tabc\t.\tA\tC\t.\tPASS\t.\tGT\t0/1\t0/1", "POS 'abc'"),
    ],
)
def test_malformed_record_is_one_line_input_error(tmp_path, bad, message):
    p = write_vcf(tmp_path / "bad.vcf", ["A", "B"], [rec("1", 5, "A", "C", ["0/0", "0/1"]), bad])
    with pytest.raises(InputError) as info:
        read_all(p)  # auto engine: the text path validates GT (cyvcf2 can segfault on 0/A)
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith(f"{p}: record 2")
    assert message in text


def test_unknown_sample_is_input_error(tmp_path):
    p = write_vcf(tmp_path / "s.vcf", ["A", "B"], [rec("1", 5, "A", "C", ["0/0", "0/1"])])
    with pytest.raises(InputError, match="not in the file: Z"):
        read_all(p, LoadOptions(samples=("B", "Z")))


def test_regions_and_sample_subset(tmp_path, engine):
    recs = [rec("1", pos, "A", "C", ["0/1", "1/1", "0/0"]) for pos in (5, 10, 20, 30)]
    recs.append(rec("X", 10, "A", "C", ["1", "0", "1/1"]))
    p = write_vcf(tmp_path / "r.vcf", ["A", "B", "C"], recs)
    opts = LoadOptions(regions=(parse_region("1:10-20"), parse_region("X")), samples=("C", "A"))
    r = read_all(p, opts, engine=engine)
    assert r.samples == ["A", "C"]  # file order
    assert list(zip(r.chrom, r.pos.tolist())) == [("1", 10), ("1", 20), ("X", 10)]
    assert r.dosage_by_variant.tolist() == [[1, 0], [1, 0], [1, 2]]
    assert r.load_counts["records_removed_region"] == 2


def test_parse_region_forms():
    assert str(parse_region("chr1:1,000-2,000")) == "chr1:1000-2000"
    assert parse_region("chr1:15").start == parse_region("chr1:15").end == 15
    with pytest.raises(InputError):
        parse_region("chr1:20-10")


def _exact_hwe_p(n_het: int, n_aa: int, n_bb: int, midp: bool = False) -> float:
    """Exact HWE p by enumerating every het count with exact rational probabilities."""
    n = n_het + n_aa + n_bb
    n_a = 2 * n_aa + n_het
    n_b = 2 * n - n_a

    def prob(h: int) -> Fraction:
        aa, bb = (n_a - h) // 2, (n_b - h) // 2
        return Fraction(
            factorial(n) * factorial(n_a) * factorial(n_b) * 2**h,
            factorial(aa) * factorial(h) * factorial(bb) * factorial(2 * n),
        )

    support = [h for h in range(n_a % 2, min(n_a, n_b) + 1, 2)]
    p_obs = prob(n_het)
    tail = sum((prob(h) for h in support if prob(h) < p_obs), Fraction(0))
    tied = sum((prob(h) for h in support if prob(h) == p_obs), Fraction(0))
    return float(tail + (tied / 2 if midp else tied))


def test_exact_enumeration_on_hand_worked_cases():
    """The reference itself, by hand: 2 people with 2 REF and 2 ALT alleles have het = 0 with
    probability 1/3 and het = 2 with 2/3; 1 het of 2 people (1 ALT allele) is the only outcome."""
    assert _exact_hwe_p(0, 1, 1) == 1 / 3
    assert _exact_hwe_p(0, 1, 1, midp=True) == 1 / 6
    assert _exact_hwe_p(2, 0, 0) == 1.0
    assert _exact_hwe_p(1, 1, 0) == 1.0 and _exact_hwe_p(1, 1, 0, midp=True) == 0.5


@pytest.mark.parametrize("counts", [(0, 10, 10), (20, 0, 0), (3, 40, 2), (57, 14, 29), (1, 1, 0), (50, 25, 25)])
@pytest.mark.parametrize("midp", [False, True])
def test_hwe_exact_test_against_exact_enumeration(counts, midp):
    assert hwe_exact_p(*counts, midp=midp) == pytest.approx(_exact_hwe_p(*counts, midp=midp), rel=1e-9)


def test_mind_before_geno_like_plink2(tmp_path):
    """Sample D is 3/4 missing: --mind 0.5 removes it first, so --geno 0.2 keeps v1-v3."""
    gts = [["0/1", "0/0", "1/1", "./."]] * 3 + [["0/1", "0/0", "1/1", "0/1"]]
    p = write_vcf(
        tmp_path / "o.vcf",
        list("ABCD"),
        [rec("1", 10 * (i + 1), "A", "C", g, vid=f"v{i + 1}") for i, g in enumerate(gts)],
    )
    g = gather([read_all(p)], FilterParams(min_maf=None, max_variant_missing=0.2, max_sample_missing=0.5))
    assert g.samples["sample_id"].tolist() == ["A", "B", "C"]
    assert g.variants["id"].tolist() == ["v1", "v2", "v3", "v4"]
    assert g.qc["samples_removed"] == {"mind": 1} and g.qc["variants_removed"]["geno"] == 0


def test_maf_threshold_is_inclusive(tmp_path):
    n = 100
    recs = []
    for i, ac in enumerate([1, 2, 3]):  # MAF 0.005, 0.010, 0.015
        gts = ["0/1"] * ac + ["0/0"] * (n - ac)
        recs.append(rec("1", i + 1, "A", "C", gts, vid=f"v{ac}"))
    p = write_vcf(tmp_path / "maf.vcf", [f"S{i}" for i in range(n)], recs)
    g = gather([read_all(p)], FilterParams(min_maf=0.01, max_variant_missing=None, max_sample_missing=None))
    assert g.variants["id"].tolist() == ["v2", "v3"]


def _random_records(rng: np.random.Generator, n_samples: int, n_records: int) -> list[str]:
    """Mixed layouts: GT only, GT:DP, haploid, multi-allelic, missing, half-missing."""
    recs = []
    for i in range(n_records):
        kind = rng.integers(0, 6)
        n_alt = 1 if kind < 4 else int(rng.integers(2, 4))
        alleles = list(range(n_alt + 1)) + ["."]
        weights = np.array([6.0] + [2.0] * n_alt + [1.0])
        weights /= weights.sum()
        gts = []
        for _ in range(n_samples):
            a, b = (alleles[j] for j in rng.choice(len(alleles), 2, p=weights))
            if kind == 3 and rng.random() < 0.5:
                gts.append(f"{a}")
            else:
                gts.append(f"{a}{'|' if rng.random() < 0.5 else '/'}{b}")
        fmt = "GT"
        if kind in (1, 4):
            fmt = "GT:DP"
            gts = [f"{g}:{rng.integers(0, 50)}" for g in gts]
        alt = ",".join(["C", "G", "T"][:n_alt])
        recs.append(rec("1", 100 + 10 * i, "A", alt, gts, fmt=fmt, vid=f"r{i}"))
    return recs


def _hand_dosages(records: list[str]) -> list[list[int]]:
    """Independent decoding of the records above, split per ALT like bcftools norm -m-."""
    rows = []
    for line in records:
        f = line.split("\t")
        n_alt = len(f[4].split(","))
        gts = [s.split(":")[0] for s in f[9:]]
        for j in range(1, n_alt + 1):
            row = []
            for g in gts:
                alleles = g.replace("|", "/").split("/")
                row.append(-1 if "." in alleles else sum(a == str(j) for a in alleles))
            rows.append(row)
    return rows


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_samples=st.integers(1, 12), n_records=st.integers(1, 25))
def test_text_and_cyvcf2_paths_agree_with_hand_decoding(tmp_path_factory, seed, n_samples, n_records):
    rng = np.random.default_rng(seed)
    records = _random_records(rng, n_samples, n_records)
    p = write_vcf(tmp_path_factory.mktemp("prop") / "p.vcf", [f"S{i}" for i in range(n_samples)], records)
    text = read_all(p, engine="text")
    general = read_all(p, engine="cyvcf2")
    assert text.dosage_by_variant.tolist() == _hand_dosages(records)
    assert np.array_equal(text.dosage_by_variant, general.dosage_by_variant)
    assert (text.haploid is None) == (general.haploid is None)
    if text.haploid is not None:
        assert np.array_equal(text.haploid, general.haploid)
    assert (text.alt, text.variant_id, text.filter) == (general.alt, general.variant_id, general.filter)


def _bgzip_available() -> bool:
    """bgzip and tabix are installed (or the test fails in strict mode)."""
    require_tool("bgzip")
    require_tool("tabix")
    return True


@pytest.mark.parametrize("compression", ["plain", "gzip", "bgzf"])
def test_scatter_gather_identical_to_one_chunk(tmp_path, compression):
    rng = np.random.default_rng(7)
    records = _random_records(rng, 9, 60)
    p = write_vcf(tmp_path / "sg.vcf", [f"S{i}" for i in range(9)], records)
    if compression == "gzip":
        with open(p, "rb") as src, gzip.open(tmp_path / "sg.vcf.gz", "wb") as dst:
            dst.write(src.read())
        p = tmp_path / "sg.vcf.gz"
    elif compression == "bgzf":
        if not _bgzip_available():
            pytest.skip("bgzip/tabix not installed (apt-get install tabix)")
        subprocess.run(["bgzip", "-f", str(p)], check=True)
        p = tmp_path / "sg.vcf.gz"
    params = FilterParams(min_maf=0.05, max_variant_missing=0.3, max_sample_missing=0.25, hwe_p=1e-3)
    one = gather([read_all(p)], params)
    out_one = write_artifacts(one, tmp_path / "one")
    assert one.dosage.shape[1] > 0
    for size in (1, 7, 13, 59, 60, 1000):
        specs = plan_record_chunks(60, size)
        paths = []
        for spec in specs:
            chunk_path = tmp_path / f"c{size}_{spec.index}.npz"
            read_chunk(p, spec).save(chunk_path)
            paths.append(chunk_path)
        many = gather(paths, params)
        out_many = write_artifacts(many, tmp_path / f"many{size}")
        for key in ("dosage", "variants", "samples", "qc"):
            assert out_one[key].read_bytes() == out_many[key].read_bytes(), (size, key)


def test_region_chunks_on_indexed_file(tmp_path):
    if not _bgzip_available():
        pytest.skip("bgzip/tabix not installed (apt-get install tabix)")
    rng = np.random.default_rng(3)
    records = _random_records(rng, 5, 80)
    # A deletion spanning a window border must not be read twice.
    records.insert(10, rec("1", 195, "ACGTACGTACGT", "A", ["0/1"] * 5, vid="del"))
    records.sort(key=lambda r: int(r.split("\t")[1]))
    p = write_vcf(tmp_path / "rg.vcf", [f"S{i}" for i in range(5)], records)
    subprocess.run(["bgzip", "-f", str(p)], check=True)
    gz = tmp_path / "rg.vcf.gz"
    subprocess.run(["tabix", "-p", "vcf", str(gz)], check=True)
    specs = plan_chunks(gz, region_bp=100)
    assert len(specs) > 5 and all(s.region is not None for s in specs)
    chunks = [read_chunk(gz, s) for s in specs]
    assert sum(c.n_variants for c in chunks) == read_all(gz).n_variants
    a = gather(chunks, NO_FILTERS)
    b = gather([read_all(gz)], NO_FILTERS)
    assert np.array_equal(a.dosage, b.dosage)
    pd.testing.assert_frame_equal(a.variants, b.variants)


def test_artifacts_are_deterministic(tmp_path):
    records = _random_records(np.random.default_rng(11), 6, 30)
    p = write_vcf(tmp_path / "d.vcf", [f"S{i}" for i in range(6)], records)
    g = gather([read_all(p)], FilterParams(max_sample_missing=None))
    first = write_artifacts(g, tmp_path / "a")
    second = write_artifacts(g, tmp_path / "b")
    for key in first:
        assert first[key].read_bytes() == second[key].read_bytes()
    d = np.load(first["dosage"])
    assert d.dtype == np.int8 and d.shape == (6, len(pd.read_parquet(first["variants"])))


def _metadata_case(tmp_path, unmatched: str, columns=None):
    """Samples A, B, C gathered; a CSV (BOM, CRLF, as a spreadsheet writes it) with rows for C, A, Z."""
    p = write_vcf(tmp_path / "m.vcf", ["A", "B", "C"], [rec("1", 5, "A", "C", ["0/1", "1/1", "0/0"])])
    g = gather([read_all(p)], NO_FILTERS)
    table = tmp_path / "meta.csv"
    table.write_bytes(b"\xef\xbb\xbfsample,population,age\r\nC,YRI,30\r\nA,GBR,41\r\nZ,CHB,50\r\n")
    meta = MetadataOptions(
        sha256=None, format=None, header=True, id_column="sample", unmatched=unmatched, columns=columns
    )
    return g, table, meta


def test_sample_metadata_without_a_row_is_an_error_by_default(tmp_path):
    g, table, meta = _metadata_case(tmp_path, "error")
    with pytest.raises(InputError) as info:
        join_sample_labels(g, table, meta)
    assert str(info.value) == (
        f"{table}: no metadata row for 1 of 3 samples (e.g. B); the metadata ids must "
        "match the data's ids, or set metadata.unmatched: na in the card"
    )


def test_sample_metadata_join_with_na_policy_reports_mismatches(tmp_path):
    g, table, meta = _metadata_case(tmp_path, "na", columns={"pop": "population"})
    assert join_sample_labels(g, table, meta) == ["pop"]
    assert g.samples["sample_id"].tolist() == ["A", "B", "C"]
    assert g.samples["pop"].tolist() == ["GBR", "NA", "YRI"]
    assert g.qc["metadata"] == {
        "labels": ["pop"],
        "unmatched": "na",
        "samples_without_metadata": ["B"],
        "metadata_without_sample": ["Z"],
    }
    g, table, meta = _metadata_case(tmp_path, "na")  # no columns: every column, under its own name
    assert join_sample_labels(g, table, meta) == ["population", "age"]
    assert g.samples["age"].tolist() == ["41", "NA", "30"]


def test_chunk_roundtrip(tmp_path):
    p = write_vcf(tmp_path / "rt.vcf", ["A", "B"], [rec("X", 1, "A", "C", ["1", "0/1"])])
    r = read_chunk(p, ChunkSpec(0, first_record=0, n_records=10))
    r.save(tmp_path / "c.npz")
    back = ChunkResult.load(tmp_path / "c.npz")
    assert np.array_equal(back.dosage_by_variant, r.dosage_by_variant)
    assert np.array_equal(back.haploid, r.haploid) and back.chrom == ["X"]


def test_all_permutations_of_biallelic_diploid_codes(tmp_path, engine):
    codes = ["0", "1", "."]
    gts = [f"{a}{s}{b}" for a, s, b in itertools.product(codes, "/|", codes)]
    expected = [-1 if "." in (a, b) else (a == "1") + (b == "1") for a, _, b in itertools.product(codes, "/|", codes)]
    p = write_vcf(tmp_path / "all.vcf", [f"S{i}" for i in range(len(gts))], [rec("1", 1, "A", "C", gts)])
    assert read_all(p, engine=engine).dosage_by_variant.tolist() == [expected]


def test_bench_layout_fast_path_equals_general_path(tmp_path):
    """The benchmark's record layout (BGZF, GT only, phased, 1000 Genomes-like frequencies):
    the text route (numba scan) == cyvcf2, for a record range and a sample subset."""
    import sys

    from genoprep.variants import vcfio

    if not _bgzip_available():
        pytest.skip("bgzip/tabix not installed (apt-get install tabix)")
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from bench_variants import generate_vcf

    gz = generate_vcf(tmp_path / "b.vcf", 37, 900, seed=5)
    assert vcfio.is_bgzf(gz)
    spec = ChunkSpec(0, first_record=101, n_records=700)
    options = LoadOptions(samples=("S00003", "S00030", "S00011"))
    general = read_chunk(gz, spec, options, engine="cyvcf2")
    fast = read_chunk(gz, spec, options, engine="text")
    assert np.array_equal(fast.dosage_by_variant, general.dosage_by_variant)
    assert fast.pos.tolist() == general.pos.tolist() and fast.samples == general.samples
