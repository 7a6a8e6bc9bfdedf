"""CSV that a spreadsheet opens as data: cells it would run as formulas are neutralised.

Excel, LibreOffice and Google Sheets treat a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a
formula (``=HYPERLINK(…)``, ``+cmd|' /C calc'!A0``, ``@SUM(1+1)``), and a leading tab or carriage return
can hide such a start. Department names, people's names and comments come from other people, so every
CSV Pulse writes goes through ``writer`` here, which prefixes such a cell with a single quote (OWASP's
"CSV injection" advice): the spreadsheet shows the text, quote included, and runs nothing.

One exception, on purpose: a cell that is a plain decimal number (``-3.2``, ``+4``, ``1e-05``) is left
alone. OWASP suggests quoting everything that starts with ``-``, but a cell made only of an optional
sign, digits, a decimal point and an exponent is read by every spreadsheet as that number: it names no
function and no reference, so there is nothing to run. Quoting it would turn the report's
``difference_from_rest`` of -3.2 into the text ``'-3.2`` and break every sum and chart built on it.
Anything more (``-1+1``, ``-A1``, ``-3.2 `` with an operator or a letter) is quoted.

Not output, and so not through here: the one-row CSV that directory sync (SCIM) and an email change
build in memory to run a person through the import's own parser (``pulse.services.people``). It never
leaves Pulse and no spreadsheet opens it; quoting there would store "'-Foo" as someone's name.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import IO, Any

#: What a spreadsheet reads as the start of a formula (or hides one behind).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def safe_cell(value: object) -> str:
    """``value`` as CSV cell text that no spreadsheet runs (None is an empty cell)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    text = str(value)
    if text.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


class SafeDictWriter:
    """``csv.DictWriter`` whose every cell goes through ``safe_cell``."""

    def __init__(self, stream: IO[str], fieldnames: Sequence[str], **options: Any) -> None:
        self._writer = csv.DictWriter(stream, fieldnames=list(fieldnames), **options)

    def writeheader(self) -> None:
        self._writer.writeheader()

    def writerow(self, row: Mapping[str, object]) -> None:
        self._writer.writerow({key: safe_cell(value) for key, value in row.items()})

    def writerows(self, rows: Iterable[Mapping[str, object]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(stream: IO[str], fieldnames: Sequence[str], **options: Any) -> SafeDictWriter:
    """The one way Pulse writes CSV: a DictWriter over ``stream`` that neutralises formula cells."""
    return SafeDictWriter(stream, fieldnames, **options)
