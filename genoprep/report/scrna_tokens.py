"""The report figure of a scRNA-seq dataset's foundation-model tokens: tokens per cell of each
scheme (``<scheme>.parquet``'s ``length`` column) with the cells tokenised, dropped and truncated
that ``tokens.json`` records."""

from __future__ import annotations

from collections.abc import Mapping
from os import PathLike
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from genoprep.plotting import Figure
from genoprep.report.dna import token_length_figure


def token_lengths(path: str | PathLike[str]) -> tuple[str, np.ndarray]:
    """(scheme from the Parquet schema metadata, tokens per cell as int64) of a token table."""
    schema = pq.read_schema(path)
    scheme = (schema.metadata or {}).get(b"genoprep.scheme", b"?").decode()
    return scheme, pq.read_table(path, columns=["length"]).column("length").to_numpy().astype(np.int64)


def section_note(section: Mapping[str, Any]) -> str:
    """What ``tokens.json`` says about a scheme's cells, in one line."""
    return (
        f"{section['cells_tokenised']} cells tokenised, {section['cells_dropped_empty']} dropped as empty\n"
        f"{section['cells_truncated']} truncated at the length limit"
    )


def tokens_figure(paths: list[str], sections: Mapping[str, Mapping[str, Any]], title: str) -> Figure:
    """One histogram of tokens per cell per token table (in the card's order)."""
    lengths = dict(token_lengths(path) for path in paths)
    notes = {scheme: section_note(sections[scheme]) for scheme in lengths if scheme in sections}
    return token_length_figure(lengths, title, unit="cell", notes=notes)
