"""The ``genoprep`` command, beside Snakemake (which runs the workflow):

    genoprep init PATH             draft a dataset card from an input (what each choice was based on, in comments)
    genoprep validate CARDS...     check dataset cards as the workflow does before it builds the job graph
    genoprep verify OUT...         recompute every checksum of every dataset under a results folder

Messages are the workflow's own one-line messages (``genoprep: invalid dataset card: ...``).
Exit status: 0 when all is well, 1 when ``verify`` finds a problem, 2 for an invalid card.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from genoprep import verify
from genoprep.errors import InputError

#: exit status of ``validate`` for an invalid card (2, like a usage error)
INVALID = 2


def validate_cards(paths: Sequence[str], *, check_inputs: bool = False) -> int:
    """Load the cards as the workflow does (``genoprep.cards.load_cards``); print one line per result."""
    import genoprep.cards
    from genoprep.cards import load_cards

    try:
        cards = load_cards(list(paths))
        for card in cards.values() if check_inputs else ():
            genoprep.cards.check_inputs(card)
    except InputError as err:
        print(f"genoprep: invalid dataset card: {err}", file=sys.stderr)
        return INVALID
    for dataset_id, card in cards.items():
        print(f"genoprep: {card.path}: valid ({card.modality}, dataset_id {dataset_id})")
    return 0


def init_card(path: str, modality: str | None, dataset_id: str | None, output: Path | None) -> int:
    """Draft a card (``genoprep.draft``); print it or write it to ``output``."""
    from genoprep.draft import draft_card

    try:
        text = draft_card(path, modality, dataset_id)
    except InputError as err:
        print(f"genoprep: error: {err}", file=sys.stderr)
        return 1
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        print(f"genoprep: wrote {output}; review the CHECK comments, then: genoprep validate {output}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="genoprep",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    init = commands.add_parser("init", help="draft a dataset card from an input file or 10x folder")
    init.add_argument("path", help="the input (file, or 10x matrix folder)")
    init.add_argument("--modality", choices=("scrna", "bulk", "dna", "variants"), help="default: guessed")
    init.add_argument("--id", dest="dataset_id", help="dataset_id (default: from the file name)")
    init.add_argument("-o", "--output", type=Path, help="write the card here (default: print it)")
    check = commands.add_parser("validate", help="check dataset cards (schemas, ids) as the workflow does")
    check.add_argument("cards", nargs="+", help="card files or folders of *.yaml cards")
    check.add_argument(
        "--check-inputs",
        action="store_true",
        help="also check every input and metadata path, as the workflow does before it runs "
        "(inputs the workflow makes itself, such as the demo's, do not exist before)",
    )
    out = commands.add_parser("verify", help="recompute the checksums of every dataset in results folder(s)")
    out.add_argument("results", nargs="+", type=Path, help="results folder(s), or single dataset folders")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "init":
        return init_card(args.path, args.modality, args.dataset_id, args.output)
    if args.command == "validate":
        return validate_cards(args.cards, check_inputs=args.check_inputs)
    if args.command == "verify":
        return verify.main([os.fspath(p) for p in args.results])
    raise AssertionError(args.command)  # pragma: no cover - argparse refuses other commands


if __name__ == "__main__":
    sys.exit(main())
