"""CSV that a spreadsheet opens safely: no formula injection (CWE-1236).

A text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read as a
formula by Excel, LibreOffice and Google Sheets (``=cmd|' /C calc'!A0`` runs a program). As OWASP
recommends, such cells get a leading single quote, which the spreadsheet shows as text. What a
spreadsheet skips before the formula counts for nothing: a cell whose first visible character starts
a formula after a byte order mark (U+FEFF), spaces, other invisible format characters (zero-width
space, bidirectional marks) or control characters is neutralised too, its text kept after the quote.
Only text cells are changed: numbers (``-1`` in a numeric column), booleans, dates and missing
values are written as they are.

Every CSV the app or a CLI writes goes through :func:`to_csv_bytes`: the judgement exports
(:func:`sectionist.dashboard.judging.repository.export_bytes`, used by the HTTP routes and
``sectionist judgements export``) and the data exports of :mod:`sectionist.analysis.export`. It lives in the
lowest layer so that both use it; :mod:`sectionist.store.csvsafe` re-exports it.
"""

from __future__ import annotations

import unicodedata

import pandas as pd

#: First characters that make a spreadsheet read a cell as a formula (OWASP, "CSV Injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

#: The Content-Type of a CSV download (one charset parameter).
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"


def ignorable(ch: str) -> bool:
    """Whether a spreadsheet may skip ``ch`` before a formula: white space, control characters
    (``Cc``) and invisible format characters (``Cf``: U+FEFF, zero-width space, bidi marks…)."""
    return ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf")


def starts_formula(text: str) -> bool:
    """Whether ``text`` starts like a formula: its first character is in :data:`FORMULA_START`, or
    its first one that is not :func:`ignorable` is."""
    if text.startswith(FORMULA_START):
        return True
    for ch in text:
        if not ignorable(ch):
            return ch in FORMULA_START
    return False


def neutralise(value):
    """``value`` with a leading ``'`` when it is text starting like a formula (:func:`starts_formula`),
    the text kept as it was after the quote; anything else as is."""
    if isinstance(value, str) and starts_formula(value):
        return "'" + value
    return value


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells and column names are neutralised (:func:`neutralise`).

    Numeric, boolean and datetime columns are left untouched; in object columns only ``str``
    values change (a ``-1`` int stays a number).
    """
    out = df.copy()
    for name in out.columns:
        col = out[name]
        if pd.api.types.is_object_dtype(col) or pd.api.types.is_string_dtype(col) or isinstance(
            col.dtype, pd.CategoricalDtype
        ):
            out[name] = col.astype(object).map(neutralise)
    out.columns = [neutralise(c) for c in out.columns]
    return out


def to_csv_bytes(df: pd.DataFrame, **kwargs) -> bytes:
    """``df`` as UTF-8 CSV bytes (``index=False`` unless given), safe to open in a spreadsheet."""
    kwargs.setdefault("index", False)
    return safe_frame(df).to_csv(**kwargs).encode("utf-8")
