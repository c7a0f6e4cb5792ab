#!/usr/bin/env python
"""Imputed dosages (``dosage_field: DS``): genoprep against ``plink2 --vcf F dosage=DS --export A``.

Generates a deterministic bgzipped VCF of ``GT:DS`` records (Beagle layout, DS with two
decimals: ``0|1:0.97``), then runs genoprep (``read_all`` + ``gather`` with no filter, timed
after its imports and the numba cache load, in its own process) and plink2 ``--threads 1``
(a whole process), and checks that both give the same dosages (within plink2's 1/16384
units). Prints M genotypes/s, the ratio and peak RSS (``os.wait4``)::

    python bench/bench_variants_ds.py [--samples 2504] [--variants 5000] [--workdir DIR]
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


def generate_ds_vcf(gz: Path, n_samples: int, n_variants: int, seed: int = 20240602) -> Path:
    """Write a bgzipped VCF of ``GT:DS`` records (DS = the GT dosage ± noise, two decimals)."""
    rng = np.random.default_rng(seed)
    with open(gz, "wb") as out:
        bgzip = subprocess.Popen(["bgzip", "-@", "2", "-c"], stdin=subprocess.PIPE, stdout=out)
        f = bgzip.stdin
        f.write(b"##fileformat=VCFv4.2\n##contig=<ID=21,length=48129895>\n")
        f.write(b'##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n')
        f.write(b'##FORMAT=<ID=DS,Number=A,Type=Float,Description="ALT dose">\n')
        names = "\t".join(f"S{i:05d}" for i in range(n_samples))
        f.write(f"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t{names}\n".encode())
        positions = 9_000_000 + np.cumsum(rng.integers(1, 200, n_variants))
        for b0 in range(0, n_variants, 500):
            nb = min(500, n_variants - b0)
            af = rng.beta(0.3, 3.0, nb)[:, None, None]
            alleles = (rng.random((nb, n_samples, 2)) < af).astype(np.int64)
            hundredths = np.clip(alleles.sum(axis=2) * 100 + rng.integers(-8, 9, (nb, n_samples)), 0, 200)
            text = np.empty((nb, n_samples, 9), dtype=np.uint8)
            text[:, :, 0] = alleles[:, :, 0] + ord("0")
            text[:, :, 1] = ord("|")
            text[:, :, 2] = alleles[:, :, 1] + ord("0")
            text[:, :, 3] = ord(":")
            text[:, :, 4] = hundredths // 100 + ord("0")
            text[:, :, 5] = ord(".")
            text[:, :, 6] = hundredths // 10 % 10 + ord("0")
            text[:, :, 7] = hundredths % 10 + ord("0")
            text[:, :, 8] = ord("\t")
            text[:, -1, 8] = ord("\n")
            for i in range(nb):
                v = b0 + i
                f.write(f"21\t{positions[v]}\trs{v}\tA\tG\t100\tPASS\t.\tGT:DS\t".encode())
                f.write(text[i].tobytes())
        f.close()
        if bgzip.wait() != 0:
            raise RuntimeError("bgzip failed")
    return gz


CHILD = r"""
import json, sys, time
import numpy as np
sys.path.insert(0, {repo!r})
from genoprep.variants import FilterParams, LoadOptions, fastgt, gather, read_all
fastgt.warm_up()
t = time.perf_counter()
g = gather([read_all(sys.argv[1], LoadOptions(dosage_field="DS"))], FilterParams(None, None, None))
seconds = time.perf_counter() - t
np.save(sys.argv[2], g.dosage)
print(json.dumps({{"seconds": seconds}}))
"""


def run(cmd: list[str]) -> tuple[str, float, int]:
    """Run ``cmd``; stdout, wall seconds and the child's peak RSS in MB."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = proc.stdout.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{cmd[:4]} failed")
    return out, time.perf_counter() - t, usage.ru_maxrss // 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", type=int, default=2504)
    ap.add_argument("--variants", type=int, default=5000)
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args()
    if not (shutil.which("plink2") and shutil.which("bgzip")):
        print("plink2 and bgzip are needed (apt-get install -y plink2 tabix)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        folder = Path(tmp)
        load = os.getloadavg()[0]
        gz = generate_ds_vcf(folder / "ds.vcf.gz", args.samples, args.variants)
        out, wall, rss = run([sys.executable, "-c", CHILD.format(repo=str(REPO)), str(gz), str(folder / "g.npy")])
        ours = json.loads(out.strip().splitlines()[-1])["seconds"]
        cmd = ["plink2", "--vcf", str(gz), "dosage=DS", "--export", "A", "--threads", "1"]
        _, plink_wall, plink_rss = run([*cmd, "--out", str(folder / "p")])
        raw = np.loadtxt(folder / "p.raw", skiprows=1, usecols=range(6, 6 + args.variants), dtype=np.float64)
        same = bool(np.allclose(np.load(folder / "g.npy"), 2 - raw, atol=1e-4))
    n = args.samples * args.variants
    print(f"{args.samples} x {args.variants} GT:DS (load average {load:.1f} on {os.cpu_count()} CPUs)")
    print("| contender | M genotypes/s | x plink2 | peak RSS MB | process wall s |")
    print("|---|---:|---:|---:|---:|")
    print(f"| genoprep dosage_field DS | {n / ours / 1e6:.1f} | {plink_wall / ours:.2f} | {rss} | {wall:.2f} |")
    plink = f"{n / plink_wall / 1e6:.1f} | 1.00 | {plink_rss} | {plink_wall:.2f}"
    print(f"| plink2 dosage=DS --export A --threads 1 | {plink} |")
    print(f"same dosages (within 1e-4): {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
