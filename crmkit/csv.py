"""CSV export cells: one spelling of every value, and no formula a spreadsheet would run.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read as a formula
by Excel, LibreOffice and WPS (CSV injection, OWASP). Such text cells are prefixed with a single
quote, so the spreadsheet shows the text instead of running it. Numbers and dates are ours and
never start that way except a negative number, which is left as it is.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

UTF8_BOM = "\ufeff"
"""Written first, so spreadsheet programs read the Chinese names as UTF-8."""
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    """One value as the text of a CSV cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        value = value.value
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def lines(rows: Iterable[Sequence[Any]]) -> bytes:
    """Rows of values as UTF-8 CSV lines (CRLF, as RFC 4180 says), each cell through :func:`cell`."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([cell(v) for v in row] for row in rows)
    return out.getvalue().encode()


def document(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """A whole CSV file: the BOM, the header, the rows."""
    return UTF8_BOM.encode() + lines([header, *rows])
