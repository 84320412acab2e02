"""Compare two stores table by table: every parquet part's schema (with its metadata) and values.

    python scripts/compare_stores.py OLD_STORE NEW_STORE

Prints one line per part that differs (and which columns), then a summary; exits 1 when a part
differs outside the columns that record when or how long something ran (``created_at``,
``seconds`` in the runs and projection tables, the manifest's timings and per-song seconds).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pyarrow.parquet as pq

#: Columns that record wall-clock time: equal runs differ there by nature.
TIME_COLUMNS = {"created_at", "seconds"}


def parts(root: Path) -> dict[str, Path]:
    return {p.relative_to(root).as_posix(): p for p in root.rglob("*.parquet")}


def differing_columns(a, b) -> list[str]:
    cols = sorted(set(a.column_names) | set(b.column_names))
    return [c for c in cols if c not in a.column_names or c not in b.column_names
            or not a.column(c).equals(b.column(c))]


def without_times(manifest: dict) -> dict:
    """The manifest less what records how long things took (its timings, each song's seconds)."""
    out = {k: v for k, v in manifest.items() if k != "timings"}
    out["songs"] = {sid: {k: v for k, v in song.items() if k != "seconds"}
                    for sid, song in manifest.get("songs", {}).items()}
    return out


def main(old: str, new: str) -> int:
    old_root, new_root = Path(old), Path(new)
    a, b = parts(old_root), parts(new_root)
    only = sorted(set(a) ^ set(b))
    for rel in only:
        print(f"only in {'old' if rel in a else 'new'}: {rel}")
    same = timing_only = 0
    bad = []
    for rel in sorted(set(a) & set(b)):
        ta, tb = pq.read_table(a[rel]), pq.read_table(b[rel])
        cols = differing_columns(ta, tb)
        meta_same = ta.schema.equals(tb.schema, check_metadata=True)
        if not cols and meta_same:
            same += 1
        elif set(cols) <= TIME_COLUMNS and ta.schema.equals(tb.schema, check_metadata=False):
            timing_only += 1
        else:
            bad.append(rel)
            print(f"differs: {rel}: columns {cols}{'' if meta_same else ', schema metadata'}")
    ma, mb = (without_times(json.loads((root / "manifest.json").read_text())) for root in (old_root, new_root))
    manifest_diff = sorted(k for k in set(ma) | set(mb) if ma.get(k) != mb.get(k))
    print(f"{len(set(a) & set(b))} parts in both: {same} identical, {timing_only} differ only in time "
          f"columns, {len(bad)} differ; {len(only)} in one store only; manifest keys that differ "
          f"(timings aside): {manifest_diff}")
    return 1 if bad or only else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
