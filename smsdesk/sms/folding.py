"""Names as a search compares them: case and accents ignored.

`fold("Hélène") == "helene"`, `fold("ŒUVRE") == "oeuvre"`, `fold("Zoé") == "zoe"`. The same
function folds what is stored (`directory.Contact.search_name`, `Group.search_name`) and what
is typed in a search box, so both sides always agree, on SQLite and PostgreSQL alike (no
database collation or extension is involved). Letters that Unicode does not decompose into a
base letter and an accent (ø, ł, đ, œ, æ, ß) are spelled as a French keyboard would type them.
"""

from __future__ import annotations

import unicodedata

# Letters with no canonical decomposition, as they are written without the special key.
_SPELLED = str.maketrans(
    {
        "ø": "o",
        "ł": "l",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "œ": "oe",
        "æ": "ae",
        "ı": "i",
        "ŀ": "l",
        "ʼ": "'",
        "’": "'",
    }
)


def fold(text: str) -> str:
    """`text` in lower case without accents: compatibility forms decomposed (NFKD: ligatures
    ﬁ → fi, full-width letters), combining marks dropped, case folded (ß → ss)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_SPELLED))
    kept = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", kept).casefold().translate(_SPELLED)


def search_form(text: str) -> str:
    """`fold(text)` with its spaces (any run of white space) as single spaces, trimmed: what
    is stored for a search and what a typed search is compared as."""
    return " ".join(fold(text).split())
