"""The completed card as an HTML table for the report: one row per field, nested fields as
dotted paths (``computed.artifacts_sha256.X.npy``), lists of scalars on one line."""

from __future__ import annotations

import html
import os
from collections.abc import Iterator, Mapping
from typing import Any


def card_rows(card: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """``(dotted field, value as text)`` in the card's order."""
    for key, value in card.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            yield from card_rows(value, name + ".")
        elif isinstance(value, list) and any(isinstance(v, (Mapping, list)) for v in value):
            for i, item in enumerate(value):
                if isinstance(item, Mapping):
                    yield from card_rows(item, f"{name}[{i}].")
                else:
                    yield f"{name}[{i}]", _text(item)
        else:
            yield name, _text(value)


def _text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value) if value else "[]"
    if isinstance(value, Mapping):
        return "{}"
    return str(value)


def card_html(card: Mapping[str, Any], source: str | os.PathLike[str]) -> str:
    """A self-contained HTML page with the card's fields as a two-column table."""
    rows = "\n".join(
        f"<tr><td><code>{html.escape(name)}</code></td><td>{html.escape(value)}</td></tr>"
        for name, value in card_rows(card)
    )
    title = html.escape(f"{card.get('dataset_id', '')}: completed card ({os.path.basename(source)})")
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>'
        + title
        + "</title><style>body{font-family:sans-serif;font-size:13px}table{border-collapse:collapse}"
        "td{border:1px solid #ccc;padding:2px 6px;vertical-align:top;word-break:break-all}</style></head>\n"
        f"<body><h3>{title}</h3>\n<table>\n<tr><th>field</th><th>value</th></tr>\n{rows}\n</table></body></html>\n"
    )
