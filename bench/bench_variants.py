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
import resource
import shutil
import statistics
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


def _cpu() -> float:
    """CPU seconds (user + system) of this process so far, every thread included."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def warm_up() -> None:
    """Load genoprep's compiled (numba, cached) decoder once, outside the timed part, as
    imports are outside it for every Python contender; the process columns include it."""
    sys.path.insert(0, str(REPO))
    from genoprep.variants import fastgt

    fastgt.warm_up()


NO_FILTERS = {"min_maf": None, "max_variant_missing": None, "max_sample_missing": None}


def run_genoprep(path: str, spec: dict | None) -> tuple[float, float, tuple[int, int]]:
    """The decode: ``read_all`` + ``gather`` (whole file as one chunk, no filter)."""
    warm_up()
    from genoprep.variants import FilterParams, gather, read_all

    c, t = _cpu(), time.perf_counter()
    result = gather([read_all(path)], FilterParams(**NO_FILTERS))
    return time.perf_counter() - t, _cpu() - c, result.dosage.shape


def run_genoprep_chunked(path: str, spec: dict | None) -> tuple[float, float, tuple[int, int]]:
    warm_up()
    from genoprep.variants import FilterParams, gather, plan_chunks, read_chunk

    c, t = _cpu(), time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for chunk in plan_chunks(path, records_per_chunk=5000):
            p = Path(tmp) / f"{chunk.index}.npz"
            read_chunk(path, chunk).save(p)
            paths.append(p)
        result = gather(paths, FilterParams(**NO_FILTERS))
    return time.perf_counter() - t, _cpu() - c, result.dosage.shape


def run_genoprep_one_chunk_job(path: str, spec: dict | None) -> tuple[float, float, tuple[int, int]]:
    """What one variants_chunk job does: records 5000-9999 -> .npz.

    The chunk comes from the plan (made by the parent, as the job reads it from
    work/chunks.json), with its BGZF virtual offset; so the process columns are a chunk
    job's whole process (interpreter, imports, numba start, the read, the save) without
    snakemake's script preamble."""
    warm_up()
    from genoprep.variants import ChunkSpec, read_chunk

    chunk_spec = ChunkSpec.from_dict(spec)
    assert chunk_spec.first_record == 5000 and chunk_spec.offset is not None
    c, t = _cpu(), time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        chunk = read_chunk(path, chunk_spec)
        chunk.save(Path(tmp) / "1.npz")
    n_samples = chunk.dosage_by_variant.shape[1]
    return time.perf_counter() - t, _cpu() - c, (n_samples, chunk.n_variants)


def run_inflate_only(path: str, spec: dict | None) -> tuple[float, float, tuple[int, int]]:
    """Floor 1: inflating the BGZF text into line blocks (libdeflate), nothing decoded."""
    warm_up()
    from genoprep.variants import vcfio

    vcf = vcfio.VcfText(path, recycle=vcfio.PREFETCH_DEPTH + 3)  # as the reader inflates
    c, t = _cpu(), time.perf_counter()
    n_bytes = sum(len(block) for block in vcf.data_blocks())
    seconds, cpu = time.perf_counter() - t, _cpu() - c
    assert n_bytes > 0
    return seconds, cpu, (len(vcf.samples), -1)


def run_scan_only(path: str, spec: dict | None) -> tuple[float, float, tuple[int, int]]:
    """Floor 2: the numba scan (every GT into dosage rows) over text inflated beforehand."""
    warm_up()
    import numpy as np

    from genoprep.variants import fastgt, vcfio

    vcf = vcfio.VcfText(path)
    blocks = list(vcf.data_blocks())
    n = len(vcf.samples)
    column_of = np.arange(n, dtype=np.int64)
    info = np.empty((4096, 6), dtype=np.int64)
    rows = 0
    c, t = _cpu(), time.perf_counter()
    dosage = np.empty((sum(b.size for b in blocks) // (2 * n) + 1, n), dtype=np.int8)
    for buf in blocks:
        pos = 0
        while pos < len(buf):
            n_lines, pos, n_rows = fastgt.scan(buf, pos, 1 << 40, n, column_of, dosage[rows:], info)
            rows += n_rows
    seconds, cpu = time.perf_counter() - t, _cpu() - c
    return seconds, cpu, (n, rows)


def run_allel(path: str, spec: dict | None) -> tuple[float, float, tuple[int, int]]:
    import allel

    c, t = _cpu(), time.perf_counter()
    calldata = allel.read_vcf(path, fields=["calldata/GT"])
    dosage = allel.GenotypeArray(calldata["calldata/GT"]).to_n_alt(fill=-1).astype(np.int8)
    return time.perf_counter() - t, _cpu() - c, dosage.T.shape


def run_cyvcf2(path: str, spec: dict | None) -> tuple[float, float, tuple[int, int]]:
    import cyvcf2

    c, t = _cpu(), time.perf_counter()
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
    return time.perf_counter() - t, _cpu() - c, dosage.T.shape


DECODE = "genoprep decode (read_all+gather)"
CHUNK = "genoprep one chunk job (5,000)"
PLINK = "plink2 --export A --threads 1"
#: run in every round, interleaved with plink2 (the judged ratios)
JUDGED = {DECODE: run_genoprep, CHUNK: run_genoprep_one_chunk_job}
#: the floors of the decode: run in every round too
FLOORS = {"floor: inflate only": run_inflate_only, "floor: numba scan only": run_scan_only}
#: context, run once (slow; --quick skips them)
ONCE = {
    "genoprep (4 chunks via .npz)": run_genoprep_chunked,
    "scikit-allel read_vcf+to_n_alt": run_allel,
    "cyvcf2 gt_types loop": run_cyvcf2,
}
CONTENDERS = {**JUDGED, **FLOORS, **ONCE}


def child_main(name: str, path: str, spec: str) -> None:
    seconds, cpu, shape = CONTENDERS[name](path, json.loads(spec) if spec != "-" else None)
    print(json.dumps({"seconds": seconds, "cpu": cpu, "shape": list(shape)}))


# --- parent -------------------------------------------------------------------------


def run_child(cmd: list[str]) -> tuple[str, float, float, int]:
    """Run ``cmd``; return stdout, wall seconds, CPU seconds (user + system, from ``os.wait4``)
    and the child's peak RSS in MB."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = proc.stdout.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[:4]} failed with exit code {proc.returncode}")
    return out, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=2504)
    ap.add_argument("--variants", type=int, default=20000)
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds of the judged contenders and plink2")
    ap.add_argument(
        "--quick", action="store_true", help="skip the run-once contenders (scikit-allel, cyvcf2, 4 chunks)"
    )
    ap.add_argument("--child", nargs=3, metavar=("CONTENDER", "VCF", "SPEC"), help=argparse.SUPPRESS)
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
    sys.path.insert(0, str(REPO))
    from genoprep.variants import plan_chunks

    chunk_spec = json.dumps(plan_chunks(gz, records_per_chunk=5000)[1].to_dict())
    plink = shutil.which("plink2")
    if plink is None:
        print("plink2 not installed: skipped (apt-get install -y plink2)", file=sys.stderr)

    # name -> per-run (work wall, work CPU, process wall, process CPU, peak RSS MB)
    runs: dict[str, list[tuple[float, float, float, float, int]]] = {}
    n_genotypes: dict[str, int] = {}
    loads = [os.getloadavg()[0]]

    def run(name: str) -> None:
        if name == PLINK:
            cmd = [plink, "--vcf", str(gz), "--export", "A", "--threads", "1", "--out", str(workdir / "plink2_out")]
            _, wall, cpu, rss = run_child(cmd)
            runs.setdefault(name, []).append((wall, cpu, wall, cpu, rss))
            n_genotypes[name] = args.samples * args.variants
            return
        spec = chunk_spec if name == CHUNK else "-"
        out, wall, cpu, rss = run_child([sys.executable, __file__, "--child", name, str(gz), spec])
        res = json.loads(out.strip().splitlines()[-1])
        n_variants = 5000 if name == CHUNK else args.variants
        if res["shape"][1] != -1:
            assert res["shape"] == [args.samples, n_variants], (name, res["shape"])
        runs.setdefault(name, []).append((res["seconds"], res["cpu"], wall, cpu, rss))
        n_genotypes[name] = args.samples * n_variants

    for round_ in range(args.rounds):
        order = [*JUDGED, *FLOORS] + ([PLINK] if plink else [])
        if round_ % 2:
            order.reverse()  # alternate who runs first
        for name in order:
            run(name)
        loads.append(os.getloadavg()[0])
        print(f"round {round_ + 1}/{args.rounds} done (load {loads[-1]:.1f})", file=sys.stderr)
    if not args.quick:
        for name in ONCE:
            run(name)
        loads.append(os.getloadavg()[0])

    med = {name: tuple(_median([r[i] for r in rs]) for i in range(5)) for name, rs in runs.items()}
    plink_med = med.get(PLINK)
    print(
        f"\n{args.samples} samples × {args.variants} variants; {args.rounds} interleaved rounds, medians;"
        f" load average {min(loads):.1f}–{max(loads):.1f} on {os.cpu_count()} CPUs\n"
        "work = the contender's own work in its process (after imports and the numba cache load;\n"
        "CPU = user + system of every thread, getrusage); process = the whole child process\n"
        "(os.wait4); plink2 is a whole process either way. × plink2 = plink2's time / this one's\n"
        "on the same clock, per genotype (the chunk job decodes 5,000 of the 20,000 variants).\n"
    )
    head = (
        "| contender | work CPU s | work wall s | × plink2 (CPU) | × plink2 (wall) | process CPU s"
        " | process wall s | × plink2 (process CPU) | peak RSS MB | runs (work CPU s) |"
    )
    print(head)
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for name, (w, c, pw, pc, rss) in med.items():
        scale = n_genotypes[PLINK] / n_genotypes[name] if plink_med else 1.0

        def ratio(ours: float, theirs_index: int, scale: float = scale) -> str:
            return f"{plink_med[theirs_index] / (ours * scale):.2f}" if plink_med else "n/a"

        each = ", ".join(f"{r[1]:.2f}" for r in runs[name])
        print(
            f"| {name} | {c:.3f} | {w:.3f} | {ratio(c, 1)} | {ratio(w, 0)} | {pc:.2f} | {pw:.2f} "
            f"| {ratio(pc, 3)} | {rss:.0f} | {each} |"
        )
    failures = []
    ours = med[DECODE]
    if "scikit-allel read_vcf+to_n_alt" in med:
        allel = med["scikit-allel read_vcf+to_n_alt"]
        if allel[0] < 3 * ours[0]:
            failures.append(f"genoprep is {allel[0] / ours[0]:.2f}× scikit-allel in wall (target ≥ 3×)")
    if plink_med:
        speed = plink_med[1] / ours[1]
        print(f"\ndecode vs plink2 (CPU): {speed:.2f}× (target of issue 15: ≥ 1.5×)")
        if speed < 0.5:
            failures.append(f"genoprep is {speed:.2f}× plink2 in CPU (floor ≥ 0.5×)")
    for f in failures:
        print(f"TARGET MISSED: {f}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
