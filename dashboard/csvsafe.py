"""CSV that a spreadsheet opens safely: moved to :mod:`store.csvsafe` (the exports of
:mod:`analysis.export` use it too); this name stays for the dashboard's callers."""

from store.csvsafe import CSV_CONTENT_TYPE, FORMULA_START, neutralise, safe_frame, to_csv_bytes

__all__ = ["CSV_CONTENT_TYPE", "FORMULA_START", "neutralise", "safe_frame", "to_csv_bytes"]
