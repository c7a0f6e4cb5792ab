"""Check a results folder against the checksums it carries: ``genoprep verify OUT``.

Every dataset folder ``OUT/<dataset_id>/`` lists the SHA-256 of its files in two places:

- ``card.yaml`` (the completed card): ``computed.artifacts_sha256`` maps each artifact's
  path (relative to the dataset folder) to its digest;
- ``fair.sha256`` (``sha256sum`` format: ``<digest>  <name>`` per line): the files written
  from the completed card after it, ``card.yaml`` itself, ``croissant.json`` and
  ``README.md``. They cannot sit in the card's own list (a card cannot hold its own
  digest, and they are made from it), so ``sha256sum -c fair.sha256`` checks them, and
  through ``card.yaml`` every artifact.

:func:`verify_results` recomputes every listed digest and names each file that differs,
is missing, or is in the folder but listed nowhere. ``logs/`` and ``benchmarks/`` are not
artifacts (their content depends on the run's time and host) and are skipped.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import yaml

from genoprep.provenance import file_sha256

#: the completed card of a dataset folder
CARD = "card.yaml"
#: digests of the files written after the card (sha256sum format)
FAIR_SHA256 = "fair.sha256"
#: the files written after the card, from it: never listed in card.yaml (the card writer leaves them out)
FAIR_FILES = ("croissant.json", "README.md", FAIR_SHA256)
#: folders of a dataset that hold run records, not artifacts
RUN_RECORDS = ("logs", "benchmarks")


@dataclass(frozen=True)
class Problem:
    """One file that does not match what its dataset folder lists."""

    path: Path
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


@dataclass(frozen=True)
class Listed:
    """A file's expected digest and which list gives it."""

    sha256: str
    listed_in: str


def read_sha256sum(path: Path) -> dict[str, str]:
    """Parse a ``sha256sum`` file: ``{name: digest}``; a malformed line raises ValueError."""
    listed: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64 or not name:
            raise ValueError(f"line {number}: not '<sha256>  <file>': {line[:80]!r}")
        listed[name.lstrip("*")] = digest.lower()
    return listed


def write_sha256sum(digests: dict[str, str], path: Path) -> None:
    """Write ``{name: digest}`` as a ``sha256sum`` file, in the given order."""
    path.write_text("".join(f"{digest}  {name}\n" for name, digest in digests.items()), encoding="utf-8")


def _safe_name(name: str) -> bool:
    pure = PurePosixPath(name)
    return not pure.is_absolute() and ".." not in pure.parts and bool(pure.parts)


def listed_files(folder: Path) -> tuple[dict[str, Listed], list[Problem]]:
    """Every file the dataset folder lists, with its expected digest.

    Returns the listing and the problems found reading the lists themselves (no card,
    a card that is not YAML, no ``computed.artifacts_sha256``, a malformed ``fair.sha256``).
    """
    listing: dict[str, Listed] = {}
    problems: list[Problem] = []
    card_path = folder / CARD
    if not card_path.is_file():
        return listing, [Problem(card_path, "missing: no completed card (did the run finish?)")]
    try:
        card = yaml.safe_load(card_path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        return listing, [Problem(card_path, f"not a readable YAML card: {' '.join(str(err).split())[:160]}")]
    artifacts = card.get("computed", {}).get("artifacts_sha256") if isinstance(card, dict) else None
    if not isinstance(artifacts, dict):
        problems.append(Problem(card_path, "lists no artifacts (no computed.artifacts_sha256)"))
        artifacts = {}
    for name, digest in artifacts.items():
        listing[str(name)] = Listed(str(digest).lower(), f"{CARD} (computed.artifacts_sha256)")
    # report figures and any other file the run found in the folder (scripts/write_card.py)
    for key in ("figures_sha256", "other_files_sha256"):
        others = card["computed"].get(key) if isinstance(card.get("computed"), dict) else None
        for name, digest in (others or {}).items():
            listing[str(name)] = Listed(str(digest).lower(), f"{CARD} (computed.{key})")
    fair_path = folder / FAIR_SHA256
    if fair_path.is_file():
        try:
            for name, digest in read_sha256sum(fair_path).items():
                listing[name] = Listed(digest, FAIR_SHA256)
        except (ValueError, UnicodeDecodeError) as err:
            problems.append(Problem(fair_path, f"malformed: {err}"))
    for name in list(listing):
        if not _safe_name(name):
            problems.append(
                Problem(
                    folder / name, f"listed in {listing.pop(name).listed_in} with a path outside the dataset folder"
                )
            )
    return listing, problems


def present_files(folder: Path) -> Iterator[str]:
    """The files of a dataset folder (relative posix paths), run records excluded."""
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if relative.parts[0] in RUN_RECORDS or path.is_dir():
            continue
        yield relative.as_posix()


def verify_dataset(folder: Path) -> tuple[int, list[Problem]]:
    """Check one dataset folder: (number of files checked, problems)."""
    listing, problems = listed_files(folder)
    checked = 0
    for name, listed in listing.items():
        path = folder / name
        if not path.is_file():
            problems.append(Problem(path, f"missing: listed in {listed.listed_in}"))
            continue
        actual = file_sha256(path)
        checked += 1
        if actual != listed.sha256:
            problems.append(Problem(path, f"differs: sha256 is {actual}, {listed.listed_in} lists {listed.sha256}"))
    known = set(listing) | {CARD, FAIR_SHA256}
    for name in present_files(folder):
        if name not in known:
            problems.append(Problem(folder / name, f"unlisted: in the folder but not in {CARD} or {FAIR_SHA256}"))
    return checked, problems


def dataset_folders(results: Path) -> list[Path]:
    """The dataset folders of a results folder (or ``results`` itself when it holds a card).

    Hidden folders (``.work``, ``.snakemake``) are working space, not datasets.
    """
    if (results / CARD).is_file():
        return [results]
    return sorted(p for p in results.iterdir() if p.is_dir() and not p.name.startswith("."))


@dataclass(frozen=True)
class Verification:
    """What :func:`verify_results` checked and found."""

    datasets: int
    files: int
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems and self.datasets > 0

    def summary(self) -> str:
        verdict = "OK" if self.ok else f"{len(self.problems)} problem(s)"
        return f"verify: {self.datasets} dataset(s), {self.files} file(s) checked: {verdict}"


def verify_results(results: str | Path) -> Verification:
    """Check every dataset of a results folder against its ``card.yaml`` and ``fair.sha256``."""
    results = Path(results)
    if not results.is_dir():
        return Verification(0, 0, [Problem(results, "no such results folder")])
    datasets = dataset_folders(results)
    files, problems = 0, []
    for folder in datasets:
        checked, found = verify_dataset(folder)
        files += checked
        problems.extend(found)
    if not datasets:
        problems.append(Problem(results, "no dataset folders (OUT/<dataset_id>/card.yaml) found"))
    return Verification(len(datasets), files, problems)


def main(argv: Sequence[str] | None = None) -> int:
    """``genoprep verify OUT...``: one line per problem, exit 1 if there is any."""
    parser = argparse.ArgumentParser(prog="genoprep verify", description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="+", type=Path, help="results folder(s) (or dataset folders)")
    args = parser.parse_args(argv)
    status = 0
    for results in args.results:
        outcome = verify_results(results)
        for problem in outcome.problems:
            print(f"genoprep: {problem}", file=sys.stderr)
        print(f"genoprep: {results}: {outcome.summary()}")
        status = status or (0 if outcome.ok else 1)
    return status


if __name__ == "__main__":
    sys.exit(main())
