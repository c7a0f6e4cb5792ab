"""The ``genoprep`` command, beside Snakemake (never instead of it).

    genoprep validate CARDS...   the checks the workflow runs before the job graph, same one-line messages
    genoprep verify OUT          recompute every checksum of every dataset under a results folder

Each problem is one ``genoprep:`` line; the exit status is 1 when there is any, else 0.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from genoprep.cards import Card, CardError, check_inputs, discover_cards, load_card
from genoprep.provenance import verify_results


def _say(line: str) -> None:
    print(f"genoprep: {line}", flush=True)


def validate(specs: Sequence[str]) -> int:
    """Load and check every card (schema, id, input paths, unique ids); one line per bad card."""
    try:
        paths = discover_cards(list(specs))
    except CardError as err:
        _say(f"invalid dataset card: {err}")
        return 1
    bad = 0
    seen: dict[str, Card] = {}
    for path in paths:
        try:
            card = load_card(path)
            check_inputs(card)
            if card.dataset_id in seen:
                raise CardError(
                    str(path),
                    f"dataset_id {card.dataset_id!r} is already used by {seen[card.dataset_id].path}",
                    record="dataset_id",
                )
        except CardError as err:
            _say(f"invalid dataset card: {err}")
            bad += 1
            continue
        seen[card.dataset_id] = card
    if bad:
        _say(f"{bad} of {len(paths)} cards are invalid")
        return 1
    _say(f"{len(paths)} cards valid ({', '.join(sorted(seen)[:10])}{', ...' if len(seen) > 10 else ''})")
    return 0


def verify(results: str) -> int:
    """Recompute the checksums of every dataset folder of ``results`` against its card.yaml."""
    datasets, files, problems = verify_results(Path(results))
    for problem in problems:
        _say(f"verify: {problem}")
    if problems:
        _say(f"verify: {len(problems)} problems in {datasets} datasets ({files} files listed)")
        return 1
    _say(f"verify: {datasets} datasets, {files} files: every checksum matches, nothing missing or unlisted")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="genoprep", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("validate", help="check dataset cards as the workflow does before the job graph")
    check.add_argument("cards", nargs="+", help="card files or folders of cards")
    audit = commands.add_parser("verify", help="recompute the checksums of every dataset of a results folder")
    audit.add_argument("results", help="the results folder (OUT)")
    args = parser.parse_args(argv)
    if args.command == "validate":
        return validate(args.cards)
    return verify(args.results)


if __name__ == "__main__":
    sys.exit(main())
