#!/usr/bin/env python
"""Cohort-size VCF → dosage.npy: peak RSS and time per variant of each workflow step.

Generates bgzipped VCFs of 2,504 samples × each ``--variants`` size (the generator of
``bench_variants.py``), then runs the workflow's three steps as the workflow does, each in
its own process: ``variants_plan``, one ``variants_chunk`` job per chunk (one at a time),
``variants_gather`` writing ``dosage.npy`` through its memory map. For each size it prints
every step's wall time and peak RSS (``os.wait4``), the gather step's peak RSS with the
matrix held in memory (the reference, measured in the same run), and the time per
variant relative to the smallest size. Exit status 1 when the memory-mapped gather's peak
RSS exceeds ``--max-rss-gib`` (2 GiB by default, the target at 1,000,000 variants).

    python bench/bench_variants_scale.py [--variants 20000 100000] [--records-per-chunk 50000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

STEP = r"""
import json, sys
sys.path.insert(0, {repo!r})
from genoprep.variants import fastgt
fastgt.warm_up()
from genoprep.variants.steps import ChunkOptions, GatherOptions, PlanOptions, gather_dataset, plan, read_planned_chunk
args = json.loads(sys.argv[1])
card = args["card"]
if args["step"] == "plan":
    with open(args["plan"], "w") as f:
        json.dump(plan(args["vcf"], PlanOptions.from_card(card)), f)
elif args["step"] == "chunk":
    with open(args["plan"]) as f:
        chunk_plan = json.load(f)
    read_planned_chunk(args["vcf"], chunk_plan, args["index"], ChunkOptions.from_card(card)).save(args["npz"])
else:
    result, steps, facts = gather_dataset(args["chunks"], GatherOptions.from_card(card), None, args["dosage"])
    if args["dosage"] is None:
        import numpy as np
        np.save(args["out"], result.dosage)
"""


def start_step(**args) -> subprocess.Popen:
    """Start one step in a child process."""
    return subprocess.Popen([sys.executable, "-c", STEP.format(repo=str(REPO)), json.dumps(args)])


def run_step(**args) -> tuple[float, float]:
    """Run one step in a child process; returns (wall seconds, peak RSS MiB)."""
    t = time.perf_counter()
    child = start_step(**args)
    _, status, usage = os.wait4(child.pid, 0)
    if status != 0:
        raise SystemExit(f"step {args['step']} failed ({status})")
    return time.perf_counter() - t, usage.ru_maxrss / 1024


def run_parallel(jobs: list[dict], cores: int) -> float:
    """Run the chunk jobs ``cores`` at a time (as ``snakemake --cores`` would); returns wall seconds."""
    t = time.perf_counter()
    pending, running = list(jobs), set()
    while pending or running:
        while pending and len(running) < cores:
            running.add(start_step(**pending.pop(0)).pid)
        pid, status, _ = os.wait4(-1, 0)
        if status != 0:
            raise SystemExit(f"a chunk job failed ({status})")
        running.discard(pid)
    return time.perf_counter() - t


def card(vcf: Path, records_per_chunk: int) -> dict:
    params = {
        "min_maf": 0.01,
        "max_variant_missing": 0.1,
        "max_sample_missing": 0.1,
        "hwe_p": None,
        "hwe_midp": False,
        "min_fraction_kept": None,
        "pass_only": False,
        "missing_filter_passes": True,
        "regions": None,
        "samples": None,
        "multiallelic": "split",
        "dosage_field": "GT",
        "records_per_chunk": records_per_chunk,
        "region_bp": None,
    }
    return {"input": {"path": str(vcf), "format": "auto"}, "params": params}


def measure(folder: Path, n_samples: int, n_variants: int, records_per_chunk: int) -> dict:
    from bench_variants import generate_vcf

    t = time.perf_counter()
    vcf = generate_vcf(folder / f"v{n_variants}.vcf", n_samples, n_variants)
    generated = time.perf_counter() - t
    c = card(vcf, records_per_chunk)
    plan_path = folder / f"plan{n_variants}.json"
    row = {"variants": n_variants, "vcf_mb": vcf.stat().st_size / 2**20, "generate_s": generated}
    row["plan_s"], row["plan_rss"] = run_step(step="plan", vcf=str(vcf), plan=str(plan_path), card=c)
    n_chunks = len(json.loads(plan_path.read_text())["chunks"])
    chunks, chunk_s, chunk_rss, jobs, times = [], 0.0, 0.0, [], []
    for i in range(n_chunks):
        npz = folder / f"c{n_variants}_{i}.npz"
        jobs.append(dict(step="chunk", vcf=str(vcf), plan=str(plan_path), index=i, npz=str(npz), card=c))
        s, rss = run_step(**jobs[-1])
        times.append(s)
        chunks.append(str(npz))
        chunk_s, chunk_rss = chunk_s + s, max(chunk_rss, rss)
    row.update(chunks=n_chunks, chunk_s=chunk_s, chunk_rss=chunk_rss)
    # the first (up to) 6 jobs again, two at a time (their .npz files are rewritten with the
    # same bytes), against the same jobs one at a time above
    some = jobs[: min(n_chunks, 6)]
    row["chunk_1core_s"] = sum(times[: len(some)])
    row["chunk_2cores_s"] = run_parallel(some, 2) if n_chunks > 1 else None
    dosage = folder / f"dosage{n_variants}.npy"
    row["gather_s"], row["gather_rss"] = run_step(step="gather", chunks=chunks, dosage=str(dosage), card=c)
    in_memory = folder / f"mem{n_variants}.npy"
    row["gather_mem_s"], row["gather_mem_rss"] = run_step(
        step="gather", chunks=chunks, dosage=None, out=str(in_memory), card=c
    )
    row["identical"] = dosage.read_bytes() == in_memory.read_bytes()
    row["dosage_mb"] = dosage.stat().st_size / 2**20
    for path in [vcf, dosage, in_memory, *map(Path, chunks)]:
        path.unlink()
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=2504)
    parser.add_argument("--variants", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--records-per-chunk", type=int, default=50_000)
    parser.add_argument("--max-rss-gib", type=float, default=2.0)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        rows = [measure(Path(tmp), args.samples, n, args.records_per_chunk) for n in sorted(args.variants)]
    base = (rows[0]["plan_s"] + rows[0]["chunk_s"] + rows[0]["gather_s"]) / rows[0]["variants"]
    print(
        f"{args.samples} samples, records_per_chunk {args.records_per_chunk}; times in s, RSS in MiB; "
        f"load average before {load_before:.2f}, after {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    )
    print(
        "| variants | vcf MB | dosage MB | chunks | plan s | chunk jobs s | gather s | plan RSS | chunk RSS "
        "| gather RSS (mmap) | gather RSS (in memory) | identical | time/variant vs smallest "
        "| first ≤6 chunk jobs: 1 core s | on 2 cores s | speed-up |"
    )
    print("|" + "---:|" * 16)
    ok = True
    for r in rows:
        per_variant = (r["plan_s"] + r["chunk_s"] + r["gather_s"]) / r["variants"]
        print(
            f"| {r['variants']:,} | {r['vcf_mb']:.0f} | {r['dosage_mb']:.0f} | {r['chunks']} | {r['plan_s']:.1f} "
            f"| {r['chunk_s']:.1f} | {r['gather_s']:.1f} | {r['plan_rss']:.0f} | {r['chunk_rss']:.0f} "
            f"| {r['gather_rss']:.0f} | {r['gather_mem_rss']:.0f} | {r['identical']} | {per_variant / base:.2f} "
            + (
                f"| {r['chunk_1core_s']:.1f} | {r['chunk_2cores_s']:.1f} "
                f"| {r['chunk_1core_s'] / r['chunk_2cores_s']:.2f} |"
                if r["chunk_2cores_s"]
                else "| n/a | n/a | n/a |"
            )
        )
        ok = ok and r["identical"] and r["gather_rss"] <= args.max_rss_gib * 1024
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
