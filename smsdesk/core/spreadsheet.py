"""CSV files for spreadsheets: the one rule of how smsdesk writes them (contacts, STOP list,
sent and received SMS, statistics, refused numbers).

- UTF-8 with a BOM: without it Excel reads UTF-8 as Windows-1252 and breaks accents;
- `;` between columns: French Excel (the default language here) splits on `;` because `,` is
  its decimal separator; LibreOffice detects either; our imports read both;
- CRLF line ends, cells quoted when needed (csv module, QUOTE_MINIMAL);
- a cell starting with `=`, `+`, `-`, `@`, tab or CR gets a leading `'` (OWASP "CSV
  injection"): a spreadsheet shows it as text instead of running it as a formula. Texts of
  SMS come from strangers, so every text cell goes through `safe_cell`.

`chunks` writes rows as pieces of text of about 64 KB: a StreamingHttpResponse or a file
takes them one at a time, so a million rows never sit in memory together.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
DELIMITER = ";"
BOM = "\ufeff"
CHUNK_CHARS = 64 * 1024


def safe_cell(value: object) -> str:
    """The cell as a spreadsheet must show it: as text, never as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def chunks(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """The CSV file (BOM, header, rows, every cell made safe), in pieces."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=DELIMITER, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
        if buffer.tell() >= CHUNK_CHARS:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
