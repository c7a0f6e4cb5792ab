"""``dosage_field: DS``: imputed dosages against a plain re-implementation written here and
against plink2 2.00a3.5 ``--vcf FILE dosage=DS`` (``--export A``, ``--freq``, ``--hardy``,
``--missing`` with the dosage columns, ``--geno/--mind dosage``, ``--maf``, ``--hwe``) on the
real Beagle chr20 file of ../shared/data/vcf, plain and with missing DS and GT entries added.

plink2 keeps a dosage in units of 1/16384 and prints 6 significant digits, so dosages and
frequencies are compared within 1e-4; counts (missing dosages, hardcall classes) exactly.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from genoprep.errors import InputError
from genoprep.variants import FilterParams, LoadOptions, gather, plan_record_chunks, read_all, read_chunk
from genoprep.variants.stats import variant_counts
from tests.conftest import require_tool, shared_data

DS = LoadOptions(dosage_field="DS")
NO_FILTERS = FilterParams(min_maf=None, max_variant_missing=None, max_sample_missing=None)
ENGINES = ["text", "cyvcf2"]
HEADER = [
    "##fileformat=VCFv4.2",
    "##contig=<ID=1,length=1000000>",
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
    '##FORMAT=<ID=DS,Number=A,Type=Float,Description="ALT dose">',
    '##FORMAT=<ID=GP,Number=G,Type=Float,Description="Genotype probabilities">',
]


def write_vcf(path: Path, samples: list[str], lines: list[str]) -> Path:
    columns = "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *samples])
    path.write_text("\n".join([*HEADER, columns, *lines]) + "\n")
    return path


# --- the plain reference: str.split and float(), one sample at a time ---------------------------


def reference_dosage(path: Path) -> np.ndarray:
    """Samples × variant columns (one per ALT), NaN missing: DS, else GP, else GT (plink2 dosage=DS)."""
    columns = []
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            continue
        fields = line.split("\t")
        alts = [] if fields[4] == "." else fields[4].split(",")
        n_cols = max(len(alts), 1)
        keys = fields[8].split(":")
        per_sample = []
        for sample in fields[9:]:
            entry = dict(zip(keys, sample.split(":"), strict=False))
            value = None
            if entry.get("DS", ".") not in (".", ""):
                value = [float(x) for x in entry["DS"].split(",")]
            elif entry.get("GP", ".") not in (".", ""):
                p = [float(x) for x in entry["GP"].split(",")]
                value = [p[1] + 2 * p[2]] if len(p) == 3 else [p[1]]
            else:
                alleles = entry.get("GT", ".").replace("|", "/").split("/")
                if "." in alleles:
                    value = [np.nan] * n_cols
                else:
                    value = [float(sum(int(a) == j for a in alleles)) for j in range(1, n_cols + 1)]
            per_sample.append(value)
        for j in range(n_cols):
            columns.append([np.float32(v[j]) for v in per_sample])
    return np.array(columns, dtype=np.float32).T


def reference_hardcalls(dosage: np.ndarray) -> np.ndarray:
    """plink2's hardcall of each dosage, written out: quantise to 1/16384, keep the nearest
    integer when at most 1638 units (0.1) away, else -1; NaN -> -1."""
    calls = np.full(dosage.shape, -1, dtype=np.int64)
    for index, value in np.ndenumerate(dosage):
        if np.isnan(value):
            continue
        units = int(np.floor(float(value) * 16384 + 0.5))
        nearest = round(units / 16384)
        if abs(units - nearest * 16384) <= 1638:
            calls[index] = nearest
    return calls


# --- hand-made files ----------------------------------------------------------------------------


def test_hand_worked_record_follows_plink2_fallbacks(tmp_path):
    # DS wins over GT (B: GT 1|1, DS 1.0); DS '.' falls back to GT (D); a missing GT with a DS
    # is not missing (second record, A); GP only (third record); nothing -> missing.
    p = write_vcf(
        tmp_path / "hand.vcf",
        list("ABCDEF"),
        [
            "1\t100\tv1\tA\tG\t.\tPASS\t.\tGT:DS\t0|0:1.5\t1|1:1.0\t0|1:0.95\t0|1:.\t1|1:1.95\t0|0:0.3",
            "1\t200\tv2\tA\tG\t.\tPASS\t.\tGT:DS\t./.:1\t1|1:2\t0|1:1\t0|1:1\t1|1:2\t./.:.",
            "1\t300\tv3\tA\tG\t.\tPASS\t.\tGT:GP\t0/0:0.1,0.8,0.1\t./.:.\t1/1:0,0,1\t0/1:.\t0/0:1,0,0\t0/0:0.5,0.25,0.25",
        ],
    )
    expected = np.array(
        [[1.5, 1.0, 0.95, 1.0, 1.95, 0.3], [1, 2, 1, 1, 2, np.nan], [1.0, np.nan, 2, 1, 0, 0.75]], dtype=np.float32
    ).T
    for engine in ENGINES:
        chunk = read_all(p, DS, engine=engine)
        assert chunk.dosage_by_variant.dtype == np.float32
        np.testing.assert_array_equal(chunk.dosage_by_variant.T, expected, err_msg=engine)
    counts = variant_counts(read_all(p, DS).dosage_by_variant, None)
    # v1 hardcalls: A 1.5 and F 0.3 are more than 0.1 from an integer -> not counted
    assert (counts.n_hom_ref[0], counts.n_het[0], counts.n_hom_alt[0]) == (0, 3, 1)
    assert counts.ac[0] == pytest.approx(1.5 + 1 + 0.95 + 1 + 1.95 + 0.3, abs=1e-6)
    assert counts.an.tolist() == [12, 10, 10]
    assert counts.n_missing.tolist() == [0, 1, 1]


def _random_lines(rng: np.random.Generator, n_samples: int, n_records: int) -> list[str]:
    """Records in the layouts the fast kernel meets and the ones it hands to the slow path."""
    formats = ["GT:DS", "DS", "GT:DS:GP", "DS:GT", "GT:GP", "GT"]
    lines = []
    for r in range(n_records):
        n_alt = 2 if rng.random() < 0.15 else 1
        fmt = formats[rng.integers(len(formats))] if rng.random() < 0.4 else "GT:DS"
        samples = []
        for _ in range(n_samples):
            a, b = rng.integers(0, n_alt + 1, 2)
            gt = "./." if rng.random() < 0.05 else f"{a}|{b}"
            doses = rng.dirichlet(np.ones(n_alt + 1))[1:] * 2 * rng.random()
            style = rng.integers(4)
            texts = [
                {0: f"{d:.2f}", 1: f"{d:.3g}", 2: f"{d * 10:.1f}e-1", 3: "0" if d < 0.5 else "2" if d > 1.8 else "1"}[
                    style
                ]
                for d in doses
            ]
            ds = "." if rng.random() < 0.05 else ",".join(texts)
            g = rng.dirichlet(np.ones(3))
            gp = "." if rng.random() < 0.05 else ",".join(f"{x:.3f}" for x in g)
            entry = {"GT": gt, "DS": ds, "GP": gp if n_alt == 1 else "."}
            samples.append(":".join(entry[k] for k in fmt.split(":")))
        alt = "G" if n_alt == 1 else "G,T"
        lines.append(f"1\t{1000 + r}\tr{r}\tA\t{alt}\t.\tPASS\t.\t{fmt}\t" + "\t".join(samples))
    return lines


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fast_and_general_paths_equal_the_plain_reference(tmp_path, seed):
    rng = np.random.default_rng(seed)
    samples = [f"S{i}" for i in range(23)]
    p = write_vcf(tmp_path / "r.vcf", samples, _random_lines(rng, len(samples), 120))
    expected = reference_dosage(p)
    np.testing.assert_array_equal(read_all(p, DS, engine="text").dosage_by_variant.T, expected)
    # htslib hands GP over as float32, so a GP-derived dosage may differ in its last bit
    general = read_all(p, DS, engine="cyvcf2").dosage_by_variant.T
    np.testing.assert_allclose(general, expected, rtol=2.5e-7, atol=0)
    counts = variant_counts(expected.T.copy(), None)
    calls = reference_hardcalls(expected.T)
    assert counts.n_missing.tolist() == np.isnan(expected.T).sum(axis=1).tolist()
    assert counts.n_hom_ref.tolist() == (calls == 0).sum(axis=1).tolist()
    assert counts.n_het.tolist() == (calls == 1).sum(axis=1).tolist()
    assert counts.n_hom_alt.tolist() == (calls == 2).sum(axis=1).tolist()
    np.testing.assert_allclose(counts.ac, np.nansum(expected.T.astype(np.float64), axis=1), rtol=1e-12)


def test_sample_subset_and_chunks_read_the_same_dosages(tmp_path):
    rng = np.random.default_rng(11)
    samples = [f"S{i}" for i in range(9)]
    p = write_vcf(tmp_path / "s.vcf", samples, _random_lines(rng, len(samples), 40))
    expected = reference_dosage(p)
    subset = LoadOptions(dosage_field="DS", samples=("S7", "S2", "S3"))
    for engine in ENGINES:
        chunk = read_all(p, subset, engine=engine)
        assert chunk.samples == ["S2", "S3", "S7"]  # file order
        np.testing.assert_allclose(chunk.dosage_by_variant.T, expected[[2, 3, 7]], rtol=2.5e-7, atol=0)
    one = gather([read_all(p, DS)], NO_FILTERS)
    specs = plan_record_chunks(40, 7)
    many = gather([read_chunk(p, spec, DS) for spec in specs], NO_FILTERS)
    assert one.dosage.tobytes() == many.dosage.tobytes()
    pd.testing.assert_frame_equal(one.variants, many.variants)


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("0|1:2.5", "DS '2.5' is not a dosage between 0 and 2"),
        ("0|1:-0.5", "DS '-0.5' is not a dosage between 0 and 2"),
        ("0|1:abc", "DS 'abc' is not a dosage between 0 and 2"),
        ("0|1:nan", "DS 'nan' is not a dosage between 0 and 2"),
        ("0|1:0.5,0.5", "DS '0.5,0.5' has 2 value(s) for 1 ALT allele(s)"),
    ],
)
def test_bad_ds_is_one_line_naming_the_record(tmp_path, entry, problem):
    p = write_vcf(
        tmp_path / "bad.vcf",
        ["A", "B"],
        ["1\t5\tok\tA\tG\t.\tPASS\t.\tGT:DS\t0|0:0\t0|1:1", f"1\t9\tbad\tA\tG\t.\tPASS\t.\tGT:DS\t0|0:0\t{entry}"],
    )
    with pytest.raises(InputError) as info:
        read_all(p, DS, engine="text")
    assert str(info.value) == f"{p}: record 2 (1:9): {problem}"


def test_gt_mode_ignores_ds(tmp_path):
    p = write_vcf(tmp_path / "g.vcf", ["A", "B"], ["1\t5\tv\tA\tG\t.\tPASS\t.\tGT:DS\t0|1:1.7\t./.:0.2"])
    chunk = read_all(p)
    assert chunk.dosage_by_variant.dtype == np.int8
    assert chunk.dosage_by_variant.tolist() == [[1, -1]]


# --- the real Beagle file against plink2 --------------------------------------------------------


def _with_missing_entries(source: Path, target: Path) -> Path:
    """The Beagle file with DS '.' (GT fallback), GT './.' (DS still there) and both missing,
    at fixed positions, so that every fallback and the missing counts are exercised."""
    out = []
    for r, line in enumerate(source.read_text().splitlines()):
        if line.startswith("#"):
            out.append(line)
            continue
        fields = line.split("\t")
        for s in range(9, len(fields)):
            gt, ds = fields[s].split(":")
            if (r * 7 + s) % 23 == 0:
                ds = "."
            if (r + s) % 37 == 0:
                gt = "./."
            if (r * 5 + s) % 31 == 0 or (r < 40 and s < 13):
                gt, ds = "./.", "."
            fields[s] = f"{gt}:{ds}"
        out.append("\t".join(fields))
    target.write_text("\n".join(out) + "\n")
    return target


@pytest.fixture(params=["beagle", "beagle_with_missing"])
def beagle(request, tmp_path) -> Path:
    path = shared_data("vcf", "1kg_beagle_imputed_chr20_14samples_987variants.vcf")
    if request.param == "beagle":
        return path
    return _with_missing_entries(path, tmp_path / "beagle_missing.vcf")


def plink2(vcf: Path, prefix: Path, *args: str) -> None:
    require_tool("plink2")
    cmd = ["plink2", "--vcf", str(vcf), "dosage=DS", "--set-all-var-ids", "@:#", "--threads", "1"]
    subprocess.run([*cmd, *args, "--out", str(prefix)], check=True, capture_output=True)


def test_dosage_freq_missing_and_hardcalls_equal_plink2(beagle, tmp_path):
    prefix = tmp_path / "p"
    plink2(beagle, prefix, "--export", "A", "--freq", "--hardy", "--missing", "vcols=+nmissdosage")
    g = gather([read_all(beagle, DS)], FilterParams(None, None, None, hwe_p=0.0))
    raw = pd.read_csv(f"{prefix}.raw", sep="\t", na_values="NA")
    assert g.samples["sample_id"].tolist() == raw["IID"].astype(str).tolist()
    alt_dosage = 2 - raw.iloc[:, 6:].to_numpy(dtype=np.float64)  # --export A counts REF
    assert g.dosage.dtype == np.float32 and g.dosage.shape == alt_dosage.shape
    assert np.array_equal(np.isnan(g.dosage), np.isnan(alt_dosage))
    np.testing.assert_allclose(g.dosage, alt_dosage, atol=1e-4)

    freq = pd.read_csv(f"{prefix}.afreq", sep="\t")
    np.testing.assert_allclose(g.variants["AF"], freq["ALT_FREQS"], atol=1e-4)
    assert g.variants["AN"].tolist() == freq["OBS_CT"].tolist()
    vmiss = pd.read_csv(f"{prefix}.vmiss", sep="\t")
    n = g.dosage.shape[0]
    assert (g.variants["missing_rate"] * n).round().astype(int).tolist() == vmiss["MISSING_DOSAGE_CT"].tolist()
    hardy = pd.read_csv(f"{prefix}.hardy", sep="\t")
    counts = variant_counts(np.ascontiguousarray(g.dosage.T), None)
    # plink2's A1 is the REF allele here: HOM_A1 = hom-ref, TWO_AX = hom-alt
    assert counts.n_hom_ref.tolist() == hardy["HOM_A1_CT"].tolist()
    assert counts.n_het.tolist() == hardy["HET_A1_CT"].tolist()
    assert counts.n_hom_alt.tolist() == hardy["TWO_AX_CT"].tolist()
    np.testing.assert_allclose(g.variants["hwe_p"], hardy["P"], rtol=1e-4)


def test_filters_keep_the_variants_and_samples_plink2_keeps(beagle, tmp_path):
    prefix = tmp_path / "f"
    plink2(
        beagle,
        prefix,
        *("--mind", "0.2", "dosage", "--geno", "0.05", "dosage", "--hwe", "1e-4", "--maf", "0.05"),
        *("--write-snplist", "allow-dups", "--write-samples"),
    )
    params = FilterParams(min_maf=0.05, max_variant_missing=0.05, max_sample_missing=0.2, hwe_p=1e-4)
    g = gather([read_all(beagle, DS)], params)
    kept = g.variants["pos"].tolist()  # plink2 writes the ids as 20:POS (it drops 'chr')
    assert kept == [int(i.split(":")[1]) for i in Path(f"{prefix}.snplist").read_text().split()]
    samples = [line.split("\t")[-1] for line in Path(f"{prefix}.id").read_text().splitlines()[1:]]
    assert g.samples["sample_id"].tolist() == samples
    assert 0 < len(kept) < 987
