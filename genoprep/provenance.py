"""Checksums and software versions recorded in the completed card."""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
from collections.abc import Iterable
from pathlib import Path

from genoprep import __version__
from genoprep.errors import InputError

_BLOCK = 1 << 20


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def path_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file, or of a folder (e.g. a 10x matrix folder).

    A folder's digest is the SHA-256 of the lines ``<sha256>  <relative path>`` of its
    files in sorted order (``sha256sum`` style), so it changes when any file changes.
    """
    path = Path(path)
    if not path.is_dir():
        return file_sha256(path)
    lines = [
        f"{file_sha256(child)}  {child.relative_to(path).as_posix()}\n"
        for child in sorted(p for p in path.rglob("*") if p.is_file())
    ]
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def verify_sha256(path: str | os.PathLike[str], expected: str | None) -> str:
    """Return the digest of ``path``; raise :class:`InputError` if it differs from ``expected``."""
    actual = path_sha256(path)
    if expected is not None and actual != expected.lower():
        raise InputError(str(path), f"sha256 is {actual}, but the card says {expected}")
    return actual


def package_versions(names: Iterable[str]) -> dict[str, str]:
    """Installed versions of the named distributions (``"not installed"`` if absent)."""
    versions: dict[str, str] = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def software_versions(names: Iterable[str]) -> dict[str, str]:
    """genoprep's own version, then the installed versions of the named distributions (in that order)."""
    return {"genoprep": __version__, **package_versions(names)}


def completed_card(
    card: dict,
    facts: dict,
    input_sha256: list[str],
    metadata_sha256: str | None,
    artifacts: dict[str, str],
    figures: dict[str, str] | None = None,
    others: dict[str, str] | None = None,
) -> dict:
    """The input card completed with what the run computed.

    The card's own fields stay as they were read (with schema defaults filled in), the
    inputs get their ``sha256`` (so the completed card pins its inputs), and ``computed``
    holds the modality's facts and the SHA-256 of every file of the dataset folder:
    ``artifacts_sha256`` (the modality's artifacts), ``figures_sha256`` (report figures) and
    ``other_files_sha256`` (anything else found there), keyed by path relative to the
    dataset folder. Nothing in it depends on where or when the run happened, so a rerun
    gives the same bytes.
    """
    completed = {key: value for key, value in card.items() if key != "computed"}
    if "input" in completed:
        completed["input"] = {**completed["input"], "sha256": input_sha256[0]}
    else:
        completed["inputs"] = [{**entry, "sha256": sha} for entry, sha in zip(completed["inputs"], input_sha256)]
    if metadata_sha256 is not None and "metadata" in completed:
        completed["metadata"] = {**completed["metadata"], "sha256": metadata_sha256}
    computed = {**facts, "artifacts_sha256": dict(sorted(artifacts.items()))}
    if figures:
        computed["figures_sha256"] = dict(sorted(figures.items()))
    if others:
        computed["other_files_sha256"] = dict(sorted(others.items()))
    completed["computed"] = computed
    return completed


# ---------------------------------------------------------------- the files of a dataset folder

#: the completed card of a dataset (not listed in itself)
CARD_NAME = "card.yaml"

#: sub-folders of a dataset folder that are not checksummed (logs and timings differ between runs)
UNLISTED_FOLDERS = ("logs", "benchmarks")


def dataset_files(folder: str | os.PathLike[str], units: Iterable[str] = ()) -> list[str]:
    """Every file of a dataset folder as a path relative to it (sorted), except ``card.yaml``,
    ``logs/`` and ``benchmarks/``. A folder named in ``units`` (an artifact that is a folder)
    is one entry, not its files."""
    root = Path(folder)
    units = set(units)
    found: list[str] = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        parts = relative.split("/")
        if parts[0] in UNLISTED_FOLDERS or relative == CARD_NAME:
            continue
        if any(relative == unit or relative.startswith(unit + "/") for unit in units):
            if relative in units:
                found.append(relative)
            continue
        if path.is_file() or path.is_symlink():
            found.append(relative)
    return found
