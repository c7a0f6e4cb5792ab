#!/usr/bin/env python
"""Benchmark VCF → dosage: genoprep vs scikit-allel, a plain cyvcf2 loop and plink2.

Generates a deterministic bgzipped VCF (2,504 samples × 20,000 variants by default,
phased GT only, 1000 Genomes-like allele frequencies), then runs every contender in its
own subprocess and reads that child's peak RSS with ``os.wait4``. Python contenders time
their own work (after imports); plink2 is timed as a whole process. Prints a table and
exits 1 when a target is missed: genoprep ≥ 3× scikit-allel and ≥ ½ plink2 (single
thread). Usage::

    python bench/bench_variants.py [--samples 2504] [--variants 20000] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def generate_vcf(path: Path, n_samples: int, n_variants: int, seed: int = 20240601) -> Path:
    """Write ``path`` (.vcf) then bgzip it to ``path.gz`` (bgzip, else Bio.bgzf)."""
    rng = np.random.default_rng(seed)
    gz = Path(str(path) + ".gz")
    bgzip = None
    if shutil.which("bgzip"):  # compress while writing: no uncompressed copy on disk
        out = open(gz, "wb")  # noqa: SIM115 - closed below, after bgzip
        bgzip = subprocess.Popen(["bgzip", "-@", "2", "-c"], stdin=subprocess.PIPE, stdout=out)
    with bgzip.stdin if bgzip else open(path, "wb") as f:
        f.write(b"##fileformat=VCFv4.2\n##contig=<ID=21,length=48129895>\n")
        f.write(b'##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n')
        names = "\t".join(f"S{i:05d}" for i in range(n_samples))
        f.write(f"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t{names}\n".encode())
        positions = 9_000_000 + np.cumsum(rng.integers(1, 200, n_variants))
        for b0 in range(0, n_variants, 1000):
            nb = min(1000, n_variants - b0)
            af = rng.beta(0.3, 3.0, nb)[:, None, None]
            alleles = (rng.random((nb, n_samples, 2)) < af).astype(np.uint8)
            text = np.empty((nb, n_samples, 4), dtype=np.uint8)
            text[:, :, 0] = alleles[:, :, 0] + ord("0")
            text[:, :, 1] = ord("|")
            text[:, :, 2] = alleles[:, :, 1] + ord("0")
            text[:, :, 3] = ord("\t")
            text[:, -1, 3] = ord("\n")
            for i in range(nb):
                v = b0 + i
                f.write(f"21\t{positions[v]}\trs{v}\tA\tG\t100\tPASS\t.\tGT\t".encode())
                f.write(text[i].tobytes())
    if bgzip:
        if bgzip.wait() != 0:
            raise RuntimeError("bgzip failed")
        out.close()
    else:
        from Bio import bgzf

        with open(path, "rb") as src, bgzf.BgzfWriter(str(gz), "wb") as dst:
            while block := src.read(1 << 20):
                dst.write(block)
        path.unlink()
    return gz


# --- contenders (run in a child process) -------------------------------------------


def warm_up() -> None:
    """Load genoprep's compiled (numba, cached) decoder once, outside the timed part, as
    imports are outside it for every Python contender; the process column includes it."""
    sys.path.insert(0, str(REPO))
    from genoprep.variants import fastgt

    fastgt.warm_up()


def run_genoprep(path: str) -> tuple[float, tuple[int, int]]:
    warm_up()
    from genoprep.variants import FilterParams, gather, read_all

    t = time.perf_counter()
    result = gather([read_all(path)], FilterParams(min_maf=None, max_variant_missing=None, max_sample_missing=None))
    return time.perf_counter() - t, result.dosage.shape


def run_genoprep_chunked(path: str) -> tuple[float, tuple[int, int]]:
    warm_up()
    from genoprep.variants import FilterParams, gather, plan_chunks, read_chunk

    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for spec in plan_chunks(path, records_per_chunk=5000):
            p = Path(tmp) / f"{spec.index}.npz"
            read_chunk(path, spec).save(p)
            paths.append(p)
        result = gather(paths, FilterParams(min_maf=None, max_variant_missing=None, max_sample_missing=None))
    return time.perf_counter() - t, result.dosage.shape


def run_allel(path: str) -> tuple[float, tuple[int, int]]:
    import allel

    t = time.perf_counter()
    calldata = allel.read_vcf(path, fields=["calldata/GT"])
    dosage = allel.GenotypeArray(calldata["calldata/GT"]).to_n_alt(fill=-1).astype(np.int8)
    return time.perf_counter() - t, dosage.T.shape


def run_cyvcf2(path: str) -> tuple[float, tuple[int, int]]:
    import cyvcf2

    t = time.perf_counter()
    vcf = cyvcf2.VCF(path, gts012=True, strict_gt=True)
    n = len(vcf.samples)
    out = np.empty((1024, n), dtype=np.int8)
    k = 0
    for variant in vcf:
        if k == out.shape[0]:
            out = np.concatenate([out, np.empty_like(out)])
        out[k] = variant.gt_types  # copied into the preallocated block
        k += 1
    dosage = out[:k]
    dosage[dosage == 3] = -1
    return time.perf_counter() - t, dosage.T.shape


def run_genoprep_one_chunk_job(path: str) -> tuple[float, tuple[int, int]]:
    """What one variants_chunk job does: records 5000-9999 -> .npz (peak RSS per chunk).

    The chunk comes from the plan (as the job reads it from work/chunks.json), with its
    BGZF virtual offset; planning is the checkpoint's work, outside the timed part."""
    warm_up()
    from genoprep.variants import plan_chunks, read_chunk

    spec = plan_chunks(path, records_per_chunk=5000)[1]
    assert spec.first_record == 5000 and spec.offset is not None
    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        chunk = read_chunk(path, spec)
        chunk.save(Path(tmp) / "1.npz")
    n_samples = chunk.dosage_by_variant.shape[1]
    return time.perf_counter() - t, (n_samples, chunk.n_variants)


CONTENDERS = {
    "genoprep": run_genoprep,
    "genoprep (4 chunks via .npz)": run_genoprep_chunked,
    "genoprep one chunk job (5,000)": run_genoprep_one_chunk_job,
    "scikit-allel read_vcf+to_n_alt": run_allel,
    "cyvcf2 gt_types loop": run_cyvcf2,
}


def child_main(name: str, path: str) -> None:
    seconds, shape = CONTENDERS[name](path)
    print(json.dumps({"seconds": seconds, "shape": list(shape)}))


# --- parent -------------------------------------------------------------------------


def run_child(cmd: list[str]) -> tuple[str, float, int]:
    """Run ``cmd``; return stdout, wall seconds and the child's peak RSS in MB."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = proc.stdout.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[:4]} failed with exit code {proc.returncode}")
    return out, wall, usage.ru_maxrss // 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=2504)
    ap.add_argument("--variants", type=int, default=20000)
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--child", nargs=2, metavar=("CONTENDER", "VCF"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child_main(*args.child)
        return 0

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench_variants_"))
    workdir.mkdir(parents=True, exist_ok=True)
    vcf = workdir / f"bench_{args.samples}x{args.variants}.vcf"
    gz = Path(str(vcf) + ".gz")
    if not gz.exists():
        t = time.perf_counter()
        generate_vcf(vcf, args.samples, args.variants)
        print(f"generated {gz} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    n_genotypes = args.samples * args.variants

    rows: list[tuple[str, float, int, float]] = []
    for name in CONTENDERS:
        out, wall, rss = run_child([sys.executable, __file__, "--child", name, str(gz)])
        res = json.loads(out.strip().splitlines()[-1])
        n_variants = 5000 if "one chunk job" in name else args.variants
        assert res["shape"] == [args.samples, n_variants], (name, res["shape"])
        rows.append((name, args.samples * n_variants / res["seconds"], rss, wall))
    if shutil.which("plink2"):
        _, wall, rss = run_child(
            ["plink2", "--vcf", str(gz), "--export", "A", "--threads", "1", "--out", str(workdir / "plink2_out")]
        )
        rows.append(("plink2 --export A --threads 1", n_genotypes / wall, rss, wall))
    else:
        print("plink2 not installed: skipped (apt-get install -y plink2)", file=sys.stderr)

    rate = {name: r for name, r, _, _ in rows}
    allel_rate = rate["scikit-allel read_vcf+to_n_alt"]
    plink_rate = rate.get("plink2 --export A --threads 1")
    print(
        f"\n{args.samples} samples × {args.variants} variants = {n_genotypes:,} genotypes"
        f" (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)\n"
    )
    print(f"| {'contender':<32} | M genotypes/s | × allel | × plink2 | peak RSS MB | process wall s |")
    print(f"|{'-' * 34}|--------------:|--------:|---------:|------------:|---------------:|")
    for name, r, rss, wall in rows:
        vs_plink = f"{r / plink_rate:.2f}" if plink_rate else "n/a"
        print(f"| {name:<32} | {r / 1e6:>13.1f} | {r / allel_rate:>7.2f} | {vs_plink:>8} | {rss:>11} | {wall:>14.2f} |")
    ours = rate["genoprep"]
    failures = []
    if ours < 3 * allel_rate:
        failures.append(f"genoprep is {ours / allel_rate:.2f}× scikit-allel (target ≥ 3×)")
    if plink_rate and ours < 0.5 * plink_rate:
        failures.append(f"genoprep is {ours / plink_rate:.2f}× plink2 (target ≥ 0.5×)")
    for f in failures:
        print(f"TARGET MISSED: {f}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
