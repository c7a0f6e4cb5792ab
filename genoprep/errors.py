"""Errors that genoprep reports to the user as one line."""

#: line breaks inside a message (from a file name, a key or a record) are shown escaped
_ONE_LINE = str.maketrans(
    {
        "\n": "\\n",
        "\r": "\\r",
        "\x0b": "\\v",
        "\x0c": "\\f",
        "\x1c": "\\x1c",
        "\x1d": "\\x1d",
        "\x1e": "\\x1e",
        "\x85": "\\x85",
        "\u2028": "\\u2028",
        "\u2029": "\\u2029",
    }
)


class InputError(ValueError):
    """Bad user input: a card, a file or a record that cannot be used.

    The message is a single line that names the file, the record (where there is one)
    and the problem, e.g. ``data/x.vcf.gz: record 12 (chr1:1234): GT has 3 alleles``.
    Line breaks that come from the data (a file name, a key, a record) are escaped, so the
    message stays one line whatever the input.
    """

    def __init__(self, source: str, problem: str, record: str | None = None) -> None:
        self.source = str(source)
        self.record = record
        self.problem = problem
        where = f"{self.source}: {record}" if record else self.source
        super().__init__(f"{where}: {problem}".translate(_ONE_LINE))
