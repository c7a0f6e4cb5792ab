"""Errors that genoprep reports to the user as one line."""


class InputError(ValueError):
    """Bad user input: a card, a file or a record that cannot be used.

    The message is a single line that names the file, the record (where there is one)
    and the problem, e.g. ``data/x.vcf.gz: record 12 (chr1:1234): GT has 3 alleles``.
    """

    def __init__(self, source: str, problem: str, record: str | None = None) -> None:
        self.source = str(source)
        self.record = record
        self.problem = problem
        where = f"{self.source}: {record}" if record else self.source
        super().__init__(f"{where}: {problem}")
