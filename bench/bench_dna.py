#!/usr/bin/env python
"""Benchmark of the DNA tokenizers: throughput end to end, speed-up over naive loops, memory.

Run:  python bench/bench_dna.py [--mb 100] [--naive-mb 4] [--seed 7] [--keep DIR]

What it does (one process for the timings):

1. Generates, deterministically from ``--seed``, a FASTA of at least ``--mb`` MB in a temporary
   folder: 60-base lines, records 10 kb - 1 Mb (log-uniform), soft-masked (lower-case) runs,
   runs of N and a few IUPAC ambiguity codes.
2. For each scheme, times the streaming writer the workflow calls, end to end: parse
   (Biopython SimpleFastaParser + validation) + tokenize + write the artifact.
   ``char``/``hyenadna`` with their default max_len write a fixed-length ``.npy``; because
   they then read only the first max_len bases of each record, ``char (every base)`` also
   encodes *every* base (each record in full) so that the comparison with the naive loop is
   like for like.
3. Times a naive per-base Python implementation of the same scheme (the "classic spec"
   style: ``[vocab.get(b, 4) for b in seq]``, a dict lookup per k-mer string,
   ``collections.Counter`` of k-mer strings) on the first ``--naive-mb`` MB of records,
   parsing included, and **scales that time linearly** to the full file size.
4. Reports peak RSS of this process, and runs the streamed ``char`` writer in two
   subprocesses on a file of 1/4 the size and on the full file to show that peak RSS does not
   grow with file size.

Exits 1 if a target is missed: ``char`` >= 100 MB/s end to end and >= 50x its naive loop;
``kmer_counts`` (k=6) >= 50x ``collections.Counter``; peak RSS at 4x file size <= 1.25x
the peak at 1x (+16 MB of slack).
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
from Bio.SeqIO.FastaIO import SimpleFastaParser

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from genoprep.dna.alphabet import (  # noqa: E402
    CHAR_VOCAB,
    dnabert_vocab,
    kmer_strings,
    nucleotide_transformer_vocab,
)
from genoprep.dna.ingest import read_fasta  # noqa: E402
from genoprep.dna.io import write_fixed_tokens, write_kmer_counts, write_variable_tokens  # noqa: E402
from genoprep.dna.tokenize import (  # noqa: E402
    char_ids,
    dnabert_encode,
    kmer_counts,
    nucleotide_transformer_encode,
)

MB = 1_000_000
LINE = 60


# ------------------------------------------------------------------ data


def generate_fasta(path: Path, target_bytes: int, seed: int) -> dict[str, int]:
    """Write a realistic FASTA of at least ``target_bytes`` sequence bytes; return its sizes."""
    rng = np.random.default_rng(seed)
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)
    bases = records = 0
    with open(path, "wb") as out:
        while bases < target_bytes:
            length = int(np.exp(rng.uniform(np.log(10_000), np.log(1_000_000))))
            seq = letters[rng.choice(4, size=length, p=[0.3, 0.2, 0.2, 0.3])]
            for _ in range(length // 20_000 + 1):  # soft-masked repeats
                start = int(rng.integers(0, length))
                seq[start : start + int(rng.integers(50, 5_000))] |= 0x20
            if rng.random() < 0.4:  # an assembly gap
                start = int(rng.integers(0, length))
                seq[start : start + int(rng.integers(10, 5_000))] = ord("N")
            sprinkle = rng.integers(0, length, size=length // 50_000 + 1)
            seq[sprinkle] = np.frombuffer(b"RYN", dtype=np.uint8)[rng.integers(0, 3, size=sprinkle.size)]
            records += 1
            out.write(f">chrSim{records} simulated record {records} length={length}\n".encode())
            full = length // LINE
            block = np.empty((full, LINE + 1), dtype=np.uint8)
            block[:, :LINE] = seq[: full * LINE].reshape(full, LINE)
            block[:, LINE] = ord("\n")
            out.write(block.tobytes())
            if length % LINE:
                out.write(seq[full * LINE :].tobytes() + b"\n")
            bases += length
    return {"bases": bases, "records": records, "bytes": path.stat().st_size}


def head_records(source: Path, target: Path, min_bases: int) -> int:
    """Copy whole records from the start of ``source`` until ``min_bases``; return bases copied."""
    bases = 0
    with open(source) as handle, open(target, "w") as out:
        for header, seq in SimpleFastaParser(handle):
            out.write(f">{header}\n")
            out.writelines(seq[i : i + LINE] + "\n" for i in range(0, len(seq), LINE))
            bases += len(seq)
            if bases >= min_bases:
                break
    return bases


# ------------------------------------------------------------------ naive versions (classic spec)


def parse(path: Path) -> list[str]:
    with open(path) as handle:
        return [seq for _, seq in SimpleFastaParser(handle)]


def naive_char(sequences: list[str]) -> int:
    vocab = {b: i for b, i in CHAR_VOCAB.items() if len(b) == 1}
    total = 0
    for seq in sequences:
        ids = [vocab.get(b, 4) for b in seq.upper()]
        total += len(ids)
    return total


def naive_dnabert(sequences: list[str], k: int = 6) -> int:
    vocab = {t: i for i, t in enumerate(dnabert_vocab(k))}
    total = 0
    for seq in sequences:
        seq = seq.upper()
        ids = [2] + [vocab.get(seq[i : i + k], 1) for i in range(len(seq) - k + 1)] + [3]
        total += len(ids)
    return total


def naive_nucleotide_transformer(sequences: list[str], k: int = 6) -> int:
    vocab = {t: i for i, t in enumerate(nucleotide_transformer_vocab(k))}
    total = 0
    for seq in sequences:
        tokens = ["<cls>"]
        pieces = seq.upper().split("N")
        for i, piece in enumerate(pieces):
            full = len(piece) // k * k
            tokens += [piece[j : j + k] for j in range(0, full, k)]
            tokens += list(piece[full:])
            if i < len(pieces) - 1:
                tokens.append("N")
        ids = [vocab.get(t, 0) for t in tokens]
        total += len(ids)
    return total


def naive_kmer_counts(sequences: list[str], k: int = 6) -> int:
    names = kmer_strings(k, "ACGT")
    total = 0
    for seq in sequences:
        seq = seq.upper()
        counts = Counter(seq[i : i + k] for i in range(len(seq) - k + 1))
        vector = [counts.get(name, 0) for name in names]  # k-mers with N are never a column
        total += sum(vector)
    return total


# ------------------------------------------------------------------ fast versions, in memory


def fast_char_every_base(sequences: list[str]) -> int:
    """The char scheme's ids of every base, unpadded, like the naive loop's list."""
    return sum(char_ids(seq).size for seq in sequences)


def fast_char_every_base_file(path: Path) -> int:
    return fast_char_every_base(record.sequence for record in read_fasta(path))  # type: ignore[arg-type]


def timed(function: Callable[[], object], repeat: int = 1) -> float:
    """Best wall time of ``repeat`` runs."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


RSS_CHILD = """
import resource, sys
sys.path.insert(0, {root!r})
from genoprep.dna.ingest import read_fasta
from genoprep.dna.io import write_fixed_tokens
write_fixed_tokens(read_fasta({fasta!r}), {out!r}, "char")
# VmHWM, not ru_maxrss: Linux keeps ru_maxrss across fork/exec, so a child would report its parent's peak.
print(next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM")) / 1024)
"""


def child_peak_rss(fasta: Path, out: Path) -> float:
    script = RSS_CHILD.format(root=str(ROOT), fasta=str(fasta), out=str(out))
    result = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True)
    return float(result.stdout.strip())


# ------------------------------------------------------------------ main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=100, help="sequence MB to generate (default 100)")
    parser.add_argument("--naive-mb", type=float, default=4, help="MB of records for the naive loops (default 4)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep the files")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="bench_dna_"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        started = time.perf_counter()
        fasta = work / "genome.fa"
        sizes = generate_fasta(fasta, int(args.mb * MB), args.seed)
        small = work / "quarter.fa"
        small_bases = head_records(fasta, small, sizes["bases"] // 4)
        naive_file = work / "naive_subsample.fa"
        naive_bases = head_records(fasta, naive_file, int(args.naive_mb * MB))
        full_mb, naive_mb = sizes["bases"] / MB, naive_bases / MB
        print(
            f"generated {fasta.name}: {sizes['records']} records, {full_mb:.1f} MB of sequence "
            f"({sizes['bytes'] / MB:.1f} MB file) in {time.perf_counter() - started:.1f} s; "
            f"naive subsample {naive_mb:.2f} MB"
        )

        parse_s = timed(lambda: sum(len(r.sequence) for r in read_fasta(fasta)))
        fast = {
            "parse + validate only": parse_s,
            "char (max_len=512) -> .npy": timed(
                lambda: write_fixed_tokens(read_fasta(fasta), work / "char.npy", "char")
            ),
            "char (every base)": timed(lambda: fast_char_every_base_file(fasta)),
            "hyenadna (max_len=1024) -> .npy": timed(
                lambda: write_fixed_tokens(read_fasta(fasta), work / "hyena.npy", "hyenadna")
            ),
            "dnabert k=6 -> parquet": timed(
                lambda: write_variable_tokens(read_fasta(fasta), work / "dnabert.parquet", "dnabert", k=6)
            ),
            "nucleotide_transformer k=6 -> parquet": timed(
                lambda: write_variable_tokens(read_fasta(fasta), work / "nt.parquet", "nucleotide_transformer")
            ),
            "kmer_counts k=6 -> .npz": timed(lambda: write_kmer_counts(read_fasta(fasta), work / "kmer.npz", k=6)),
        }
        process_peak = peak_rss_mb()
        # Same scheme, two implementations, on the same in-memory subsample.
        pairs = {
            "char (every base)": (fast_char_every_base, naive_char),
            "dnabert k=6 -> parquet": (lambda s: dnabert_encode(s, k=6), naive_dnabert),
            "nucleotide_transformer k=6 -> parquet": (nucleotide_transformer_encode, naive_nucleotide_transformer),
            "kmer_counts k=6 -> .npz": (lambda s: kmer_counts(s, k=6), naive_kmer_counts),
        }
        subsample = parse(naive_file)
        naive_parse_s = timed(lambda: parse(naive_file))
        tokenize_fast = {name: timed(lambda f=f: f(subsample), repeat=3) for name, (f, _) in pairs.items()}
        tokenize_naive = {name: timed(lambda g=g: g(subsample)) for name, (_, g) in pairs.items()}
        naive_scaled = {name: (naive_parse_s + t) * full_mb / naive_mb for name, t in tokenize_naive.items()}

        rss_quarter = child_peak_rss(small, work / "rss_quarter.npy")
        rss_full = child_peak_rss(fasta, work / "rss_full.npy")

        targets = {
            "char (max_len=512) -> .npy": ("mb_s", 100.0),
            "char (every base)": ("speedup", 50.0),
            "kmer_counts k=6 -> .npz": ("speedup", 50.0),
        }
        rows, missed = [], []
        for name, seconds in fast.items():
            speed = full_mb / seconds
            naive_s = naive_scaled.get(name)
            tok_speedup = tokenize_naive[name] / tokenize_fast[name] if name in pairs else None
            status = ""
            if name in targets:
                kind, goal = targets[name]
                value = speed if kind == "mb_s" else tok_speedup
                ok = value is not None and value >= goal
                what, unit = ("e2e", " MB/s") if kind == "mb_s" else ("tokenize", "x")
                status = f"{'ok' if ok else 'MISSED'} ({what} >= {goal:g}{unit})"
                if not ok:
                    missed.append(name)
            rows.append(
                {
                    "scheme": name,
                    "e2e_seconds": round(seconds, 3),
                    "e2e_mb_per_s": round(speed, 1),
                    "naive_e2e_mb_per_s": round(full_mb / naive_s, 2) if naive_s else None,
                    "e2e_speedup": round(naive_s / seconds, 1) if naive_s else None,
                    "tokenize_mb_per_s": round(naive_mb / tokenize_fast[name], 1) if name in pairs else None,
                    "naive_tokenize_mb_per_s": round(naive_mb / tokenize_naive[name], 2) if name in pairs else None,
                    "tokenize_speedup": round(tok_speedup, 1) if tok_speedup else None,
                    "target": status,
                }
            )

        def cell(value: float | None, fmt: str) -> str:
            return "-" if value is None else format(value, fmt)

        def times(value: float | None) -> str:
            return "-" if value is None else f"{value:.0f}x"

        print()
        print(f"e2e = end to end on {full_mb:.1f} MB: parse + validate + tokenize + write the artifact.")
        print(
            f"naive e2e = parse + naive loop on the first {naive_mb:.2f} MB of records, "
            f"time scaled x{full_mb / naive_mb:.1f}."
        )
        print(
            f"tokenize = tokenizer alone on the same {naive_mb:.2f} MB of parsed sequences "
            "(fast: best of 3; naive: 1 run)."
        )
        print()
        header = (
            f"{'scheme':38} {'e2e s':>6} {'e2e MB/s':>8} {'naive e2e':>9} {'e2e x':>6} "
            f"{'tok MB/s':>8} {'naive tok':>9} {'tok x':>6}  target"
        )
        print(header)
        print("-" * len(header))
        for row in rows:
            print(
                f"{row['scheme']:38} {row['e2e_seconds']:6.2f} {row['e2e_mb_per_s']:8.1f} "
                f"{cell(row['naive_e2e_mb_per_s'], '9.2f'):>9} {times(row['e2e_speedup']):>6} "
                f"{cell(row['tokenize_mb_per_s'], '8.1f'):>8} {cell(row['naive_tokenize_mb_per_s'], '9.2f'):>9} "
                f"{times(row['tokenize_speedup']):>6}  {row['target']}"
            )
        print()
        rss_ok = rss_full <= 1.25 * rss_quarter + 16
        if not rss_ok:
            missed.append("constant memory")
        print(f"peak RSS of this process (all schemes, {full_mb:.0f} MB input): {process_peak:.0f} MB")
        print(
            f"streamed char writer in a subprocess: peak RSS {rss_quarter:.0f} MB on {small_bases / MB:.0f} MB, "
            f"{rss_full:.0f} MB on {full_mb:.0f} MB -> {'does not grow' if rss_ok else 'GROWS'} with file size"
        )
        print(f"total bench time {time.perf_counter() - started:.0f} s")
        if args.json:
            args.json.write_text(
                json.dumps(
                    {"input_mb": full_mb, "naive_mb": naive_mb, "rows": rows, "peak_rss_mb": process_peak,
                     "rss_quarter_mb": rss_quarter, "rss_full_mb": rss_full, "missed": missed},
                    indent=2,
                )
            )
        if missed:
            print(f"targets missed: {', '.join(missed)}")
            return 1
        print("all targets met")
        return 0
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
