#!/usr/bin/env python
"""Benchmark of many dataset cards: card loading per card, and ``snakemake -n`` against a bare anchor workflow.

Run:  python bench/bench_cards.py [--cards 1000 10000] [--load 2000] [--rounds 1] [--keep DIR]
      python bench/bench_cards.py --cards 1000 3000 --estimate 10000   (a loaded machine: see 3.)

What it does:

1. Card loading: writes ``--load`` tiny DNA cards (one shared 3-record FASTA) and, in a fresh
   Python process, times ``genoprep.cards.load_cards(folder, inputs=True)`` (YAML parse, both
   schema passes with defaults, the input checks). Reports the first card (which pays for
   parsing the schemas and compiling the validators) and the mean of the others.
2. Job graph: for each ``--cards`` N, writes N tiny DNA cards and times
   ``snakemake -n --cores 1`` over them (parsing, card loading, DAG, the dry-run listing),
   then writes a bare anchor workflow in a temporary folder with the same number of jobs per
   dataset as genoprep's DNA chain (a chain of rules with named inputs, ``log:`` and the
   dataset ids from the config, nothing else) and times ``snakemake -n --cores 1`` on it.
   Both get the same number of jobs (checked from their "total" lines). The two take turns
   for ``--rounds`` rounds; each keeps its best time (the least disturbed on a shared machine).

3. With ``--estimate N`` (when N cards, ~11 N jobs, take too long to measure on the machine),
   fits CPU seconds = a + b x cards through the measured points of each workflow and prints
   the ratio at N, labelled as an estimate; it is not judged.

Targets (exit 1 if missed): loading <= 1 ms per card after the first; genoprep's dry run
<= 1.5x the anchor's for every N. Both are judged on CPU time (the process's own, and each
dry run's own from ``os.wait4``, which also gives its peak RSS, printed): on a machine shared
with other work the wall times, also printed, measure the neighbours as much as the workflow.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FASTA = ">s1 a\nACGTACGTACGTAACC\n>s2 b\nGGGCCCAATTGGCCAA\n>s3 a\nTTTTACGTAAACCCGG\n"
LOAD_TARGET_MS = 1.0
DAG_TARGET_RATIO = 1.5

LOADER = """
import sys, time
from pathlib import Path
from genoprep.cards import discover_cards, load_card, check_inputs
paths = discover_cards(sys.argv[1])
t0, c0 = time.perf_counter(), time.process_time()
card = load_card(paths[0]); check_inputs(card)
t1, c1 = time.perf_counter(), time.process_time()
for path in paths[1:]:
    check_inputs(load_card(path))
t2, c2 = time.perf_counter(), time.process_time()
n = max(1, len(paths) - 1)
print(f"{(t1 - t0) * 1e3:.3f} {(t2 - t1) * 1e3 / n:.4f} {(c2 - c1) * 1e3 / n:.4f}")
"""


def write_cards(folder: Path, n: int) -> Path:
    cards = folder / "cards"
    cards.mkdir(parents=True)
    (folder / "seqs.fa").write_text(FASTA)
    for i in range(n):
        (cards / f"d{i:05d}.yaml").write_text(
            f"dataset_id: d{i:05d}\nname: tiny DNA {i}\nmodality: dna\ninput:\n  path: ../seqs.fa\n", encoding="utf-8"
        )
    return cards


def anchor_workflow(folder: Path, ids: list[str], rules: int, script: bool = False) -> Path:
    """A bare workflow: ``rules`` chained rules per dataset, named inputs, log:, ids from the config.

    With ``script``, each rule runs a Python ``script:`` (as genoprep's rules do) instead of a
    ``shell:`` command: Snakemake then reads each job's script for its code-change check.
    """
    folder.mkdir(parents=True)
    (folder / "anchor_step.py").write_text("import shutil\n\nshutil.copy(snakemake.input.data, snakemake.output.out)\n")
    shell = ["    shell:", '        "cp {input.data} {output.out} 2> {log}"']
    action = ["    script:", '        "anchor_step.py"'] if script else shell
    (folder / "config.yaml").write_text("datasets:\n" + "".join(f"  - {i}\n" for i in ids))
    (folder / "seqs.fa").write_text(FASTA)
    text = [
        'configfile: "config.yaml"',
        "",
        "",
        "rule all:",
        "    input:",
        f'        expand("out/{{dataset}}/r{rules}.txt", dataset=config["datasets"]),',
        "",
    ]
    for r in range(1, rules + 1):
        source = '"seqs.fa"' if r == 1 else f'"out/{{dataset}}/r{r - 1}.txt"'
        text += [
            "",
            f"rule r{r}:",
            "    input:",
            f"        data={source},",
            "    output:",
            f'        out="out/{{dataset}}/r{r}.txt",',
            "    log:",
            f'        "out/{{dataset}}/logs/r{r}.log",',
            *action,
            "",
        ]
    (folder / "Snakefile").write_text("\n".join(text))
    return folder


def total_jobs(output: str) -> int:
    found = re.findall(r"^total\s+(\d+)\s*$", output, flags=re.MULTILINE)
    if not found:
        raise RuntimeError(f"no job count in the dry run's output:\n{output[-2000:]}")
    return int(found[0])


def dry_run(command: list[str], cwd: Path) -> tuple[float, float, float, str]:
    """Wall and CPU seconds of one dry run, its peak resident memory (MB), and its output.

    CPU and memory are the dry run's own (``os.wait4`` on its process), not the sum or the
    maximum over every child of the benchmark.
    """
    with tempfile.TemporaryFile("w+") as output:
        started = time.perf_counter()
        process = subprocess.Popen(
            command,
            cwd=cwd,
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        output.seek(0)
        text = output.read()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{text[-3000:]}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, text


def bench_loading(tmp: Path, n: int) -> tuple[float, float, float]:
    """First card (ms), then wall and CPU ms per card."""
    cards = write_cards(tmp / f"load{n}", n)
    done = subprocess.run(
        [sys.executable, "-c", LOADER, str(cards)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    first, wall, cpu = map(float, done.stdout.split())
    return first, wall, cpu


def bench_dag(tmp: Path, n: int, rounds: int) -> dict[str, float]:
    """Best wall and CPU seconds of genoprep's and the anchor's dry runs, and the job count."""
    cards = write_cards(tmp / f"dag{n}", n)
    snakemake = [sys.executable, "-m", "snakemake", "-n", "--cores", "1"]
    ours = snakemake + ["-s", str(REPO / "Snakefile"), "--config", f"datasets={cards}", f"results={tmp / 'out'}"]
    best = {key: float("inf") for key in ("ours", "ours_cpu", "ours_rss", "anchor", "anchor_cpu", "anchor_rss")}
    anchor = None
    for _ in range(rounds):
        seconds, cpu, rss, output = dry_run(ours, tmp)
        best["ours"], best["ours_cpu"] = min(best["ours"], seconds), min(best["ours_cpu"], cpu)
        best["ours_rss"] = min(best["ours_rss"], rss)
        jobs = total_jobs(output)
        if anchor is None:
            per_dataset = (jobs - 1) // n
            anchor = anchor_workflow(tmp / f"anchor{n}", [f"d{i:05d}" for i in range(n)], per_dataset)
        seconds, cpu, rss, output = dry_run(snakemake, anchor)
        best["anchor"], best["anchor_cpu"] = min(best["anchor"], seconds), min(best["anchor_cpu"], cpu)
        best["anchor_rss"] = min(best["anchor_rss"], rss)
        if total_jobs(output) != jobs:
            raise RuntimeError(f"the anchor has {total_jobs(output)} jobs, genoprep {jobs}")
    return {**best, "jobs": jobs}


def bench_script_anchor(tmp: Path, n: int, jobs: int) -> tuple[float, float]:
    """Wall and CPU seconds of the anchor whose rules run a script: (for information)."""
    anchor = anchor_workflow(tmp / f"anchor_script{n}", [f"d{i:05d}" for i in range(n)], (jobs - 1) // n, True)
    seconds, cpu, _, output = dry_run([sys.executable, "-m", "snakemake", "-n", "--cores", "1"], anchor)
    if total_jobs(output) != jobs:
        raise RuntimeError(f"the script anchor has {total_jobs(output)} jobs, genoprep {jobs}")
    return seconds, cpu


def extrapolate(points: dict[int, float], n: int) -> float:
    """The least-squares line through ``points`` (cards -> CPU seconds), at ``n`` cards."""
    xs, ys = list(points), list(points.values())
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / sum((x - mean_x) ** 2 for x in xs)
    return mean_y + slope * (n - mean_x)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--cards", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--load", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--script-anchor", action="store_true", help="also time the anchor with script: rules (for information)"
    )
    parser.add_argument(
        "--estimate", type=int, help="extrapolate both workflows' CPU seconds to this many cards (an estimate)"
    )
    parser.add_argument("--keep", type=Path, help="keep the generated cards and workflows in this folder")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="genoprep-bench-cards-")) if args.keep is None else args.keep
    tmp.mkdir(parents=True, exist_ok=True)
    ok = True
    try:
        print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start", flush=True)
        first, wall, cpu = bench_loading(tmp, args.load)
        met = cpu <= LOAD_TARGET_MS
        ok &= met
        print(
            f"card loading ({args.load} cards, input checks included): first card {first:.1f} ms "
            f"(schemas parsed, validators compiled), then {cpu:.3f} ms CPU ({wall:.3f} ms wall) per card "
            f"(target <= {LOAD_TARGET_MS} ms: {'met' if met else 'MISSED'})",
            flush=True,
        )
        measured = {}
        for n in args.cards:
            got = bench_dag(tmp, n, args.rounds)
            measured[n] = got
            ratio, wall_ratio = got["ours_cpu"] / got["anchor_cpu"], got["ours"] / got["anchor"]
            met = ratio <= DAG_TARGET_RATIO
            ok &= met
            print(
                f"snakemake -n, {n} cards ({got['jobs']:.0f} jobs): genoprep {got['ours_cpu']:.1f} s CPU "
                f"({got['ours']:.1f} s wall), bare anchor workflow {got['anchor_cpu']:.1f} s CPU "
                f"({got['anchor']:.1f} s wall), ratio {ratio:.2f} CPU ({wall_ratio:.2f} wall) "
                f"(target <= {DAG_TARGET_RATIO}: {'met' if met else 'MISSED'}); "
                f"per card {got['ours_cpu'] / n * 1e3:.1f} against {got['anchor_cpu'] / n * 1e3:.1f} ms CPU; "
                f"peak RSS {got['ours_rss']:.0f} against "
                f"{got['anchor_rss']:.0f} MB; load average {os.getloadavg()[0]:.1f} at the end",
                flush=True,
            )
            if args.script_anchor:
                wall, cpu = bench_script_anchor(tmp, n, int(got["jobs"]))
                print(
                    f"  for information: the anchor with script: rules {cpu:.1f} s CPU ({wall:.1f} s wall), "
                    f"genoprep / it {got['ours_cpu'] / cpu:.2f} CPU",
                    flush=True,
                )
        if args.estimate and len(measured) >= 2:
            ours = extrapolate({n: got["ours_cpu"] for n, got in measured.items()}, args.estimate)
            anchor = extrapolate({n: got["anchor_cpu"] for n, got in measured.items()}, args.estimate)
            print(
                f"ESTIMATE (not measured; a line through {', '.join(map(str, measured))} cards): "
                f"snakemake -n, {args.estimate} cards: genoprep {ours:.0f} s CPU, bare anchor workflow "
                f"{anchor:.0f} s CPU, ratio {ours / anchor:.2f}",
                flush=True,
            )
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
