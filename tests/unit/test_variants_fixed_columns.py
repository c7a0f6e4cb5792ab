"""The text reader's vectorised pass over the fixed columns (``ingest._emit_plain``) against its
line-by-line path (``ingest._emit_scanned``, the reference: one ``bytes.split`` per line and
:class:`ingest._Keeper`), and the numba start-up without ``scipy.linalg``."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from genoprep.errors import InputError
from genoprep.variants import ChunkSpec, LoadOptions, ingest, parse_region, read_all, read_chunk
from tests.conftest import shared_data

REPO = Path(__file__).resolve().parents[2]
HEADER = (
    "##fileformat=VCFv4.2\n##contig=<ID=1>\n##contig=<ID=chrX>\n"
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tA\tB\tC\n"
)
#: every line is one the numba scan decodes in full (no per-line decoder): multi-allelic, ALT ".",
#: haploid calls, FILTER values, a non-ASCII ID, POS with leading zeros
LINES = [
    "1\t10\trs1\tA\tC\t.\tPASS\t.\tGT\t0/1\t1|1\t./.",
    "1\t0012\t.\tG\tT,C\t50\tq10\tDP=3\tGT\t1/2\t0/2\t2|2",
    "1\t15\trsé\tT\t.\t.\t.\t.\tGT\t0/0\t0|0\t./0",
    "1\t20\trs4\tC\tG,A,TT\t.\tPASS;q10\t.\tGT:DP\t3/1:4\t0/0:2\t1/.:1",
    "chrX\t5\tx1\tA\tG\t.\tPASS\t.\tGT\t1\t0\t.",
    "chrX\t99\tx2\tAC\tA\t.\tLowQual\t.\tGT\t1\t0/1\t1|1",
    "1\t30\trs7\tA\tAT\t.\t.\t.\tGT\t1|0\t1|1\t0|0",
]
OPTIONS = [
    LoadOptions(),
    LoadOptions(pass_only=True),
    LoadOptions(pass_only=True, missing_filter_passes=False),
    LoadOptions(multiallelic="drop"),
    LoadOptions(regions=(parse_region("1:12-25"), parse_region("chrX"))),
    LoadOptions(regions=(parse_region("1:1-20"),), pass_only=True, multiallelic="drop", samples=("C", "A")),
]


def _line_by_line(monkeypatch):
    monkeypatch.setattr(ingest, "_emit_plain", ingest._emit_scanned)


def _same(a, b) -> None:
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            assert x is not None and y is not None, f.name
            assert x.dtype == y.dtype and np.array_equal(x, y), f.name
        else:
            assert x == y, f.name


@pytest.mark.parametrize("options", OPTIONS, ids=range(len(OPTIONS)))
def test_vectorised_fixed_columns_equal_the_line_by_line_path(tmp_path, monkeypatch, options):
    path = tmp_path / "t.vcf"
    path.write_text(HEADER + "".join(line + "\n" for line in LINES))
    fast = read_all(path, options, engine="text")
    assert fast.load_counts["records_read"] == len(LINES)
    with monkeypatch.context() as m:
        _line_by_line(m)
        reference = read_all(path, options, engine="text")
    _same(fast, reference)
    if options == LoadOptions():  # hand-checked: one row per ALT, ALT "." kept, haploid calls marked
        assert fast.alt == ["C", "T", "C", ".", "G", "A", "TT", "G", "A", "AT"]
        assert fast.pos.tolist() == [10, 12, 12, 15, 20, 20, 20, 5, 99, 30]
        assert fast.variant_id[3] == "rsé" and fast.filter[4] == "PASS;q10"
        assert fast.split_multiallelic.tolist() == [False, True, True, False, True, True, True, False, False, False]
        assert fast.dosage_by_variant[4:7].tolist() == [[1, 0, -1], [0, 0, -1], [1, 0, -1]]
        assert fast.haploid[7].tolist() == [True, True, False] and fast.haploid[8].tolist() == [True, False, False]


def test_vectorised_path_on_the_real_chr21_file(monkeypatch):
    vcf = shared_data("vcf", "1kg_phase3_chr21_2504samples_600variants_phased.vcf.gz")
    for options in (LoadOptions(), LoadOptions(regions=(parse_region("21:9400000-9900000"),), pass_only=True)):
        spec = ChunkSpec(0, first_record=57, n_records=400)
        fast = read_chunk(vcf, spec, options, engine="text")
        with monkeypatch.context() as m:
            _line_by_line(m)
            reference = read_chunk(vcf, spec, options, engine="text")
        _same(fast, reference)


@pytest.mark.parametrize(
    ("pos", "problem"),
    [("1x", "POS '1x' is not an integer"), ("", "POS '' is not an integer")],
)
def test_bad_pos_is_the_same_one_line_error(tmp_path, pos, problem):
    lines = LINES[:3] + [f"1\t{pos}\trs9\tA\tC\t.\tPASS\t.\tGT\t0/1\t1|1\t./."] + LINES[3:]
    path = tmp_path / "bad.vcf"
    path.write_text(HEADER + "".join(line + "\n" for line in lines))
    with pytest.raises(InputError) as err:
        read_all(path, engine="text")
    assert str(err.value) == f"{path}: record 4 (1:{pos}): {problem}"


def test_pos_python_accepts_is_read_as_python_reads_it(tmp_path):
    """A POS the kernel leaves to Python (sign, more than 18 digits) is read by ``int`` as before."""
    lines = [LINES[0].replace("\t10\t", "\t+10\t"), LINES[4].replace("\t5\t", "\t0000000000000000000005\t")]
    path = tmp_path / "signed.vcf"
    path.write_text(HEADER + "".join(line + "\n" for line in lines))
    assert read_all(path, engine="text").pos.tolist() == [10, 5]


def test_kernels_load_without_scipy_linalg_and_numba_blas_still_works():
    """fastgt starts numba without importing scipy.linalg (~0.25 CPU-s per job), and the
    placeholder it uses is gone afterwards: a kernel calling BLAS (np.dot) compiles and is right."""
    code = (
        "import sys\n"
        "from genoprep.variants import fastgt\n"
        "fastgt.warm_up()\n"
        "assert 'scipy.linalg' not in sys.modules and 'scipy.linalg.cython_blas' not in sys.modules\n"
        "import numba, numpy as np\n"
        "dot = numba.njit(lambda a, b: np.dot(a, b))\n"
        "a = np.arange(6.0).reshape(2, 3); b = np.arange(3.0)\n"
        "assert np.array_equal(dot(a, b), a @ b)\n"
        "assert 'scipy.linalg' in sys.modules\n"
        "print('ok')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


DENSE_HEADER = (
    "##fileformat=VCFv4.2\n##contig=<ID=1>\n"
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tA\tB\tC\tD\tE\n"
)


def _dense_file(tmp_path, call: str, at: int) -> Path:
    """Three GT-only biallelic lines in the 4-bytes-per-sample layout; the middle one has
    ``call`` for sample ``at``."""
    middle = ["0|1", "1|1", "0/0", "1/0", "0|0"]
    middle[at] = call
    lines = [
        "1\t1\ta\tA\tC\t.\t.\t.\tGT\t0|1\t1|0\t1|1\t0|0\t0/1",
        "1\t2\tb\tA\tC\t.\t.\t.\tGT\t" + "\t".join(middle),
        "1\t3\tc\tA\tC\t.\t.\t.\tGT\t1|1\t0|0\t0|1\t1/0\t1|1",
    ]
    path = tmp_path / "dense.vcf"
    path.write_text(DENSE_HEADER + "".join(line + "\n" for line in lines))
    return path


@pytest.mark.parametrize("at", [0, 2, 4])
@pytest.mark.parametrize("call", [".|0", "1|.", "./.", "1", "00|1"])
def test_dense_layout_breaks_fall_back_to_the_general_decoder(tmp_path, call, at):
    """A call that breaks the 4-byte layout (first, middle or last sample) gives what htslib gives."""
    path = _dense_file(tmp_path, call, at)
    fast = read_all(path, engine="text")
    general = read_all(path, engine="cyvcf2")
    assert np.array_equal(fast.dosage_by_variant, general.dosage_by_variant)
    assert fast.dosage_by_variant[0].tolist() == [1, 1, 2, 0, 1]
    assert fast.dosage_by_variant[2].tolist() == [2, 0, 1, 1, 2]
    assert (fast.haploid is None) == (general.haploid is None)


@pytest.mark.parametrize("at", [0, 4])
@pytest.mark.parametrize(
    ("call", "problem"),
    [("2|0", "refers to allele 2 but the record has 1 ALT allele(s)"), ("x|0", "is not a number or '.'")],
)
def test_dense_layout_bad_calls_are_one_line_errors(tmp_path, call, problem, at):
    path = _dense_file(tmp_path, call, at)
    with pytest.raises(InputError) as err:
        read_all(path, engine="text")
    assert str(err.value) == f"{path}: record 2 (1:2): GT {call!r} {problem}"
