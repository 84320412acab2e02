"""The tune/held split of the development corpora and their index ``DIR/corpus.json``.

Every piece of a development corpus (``sectionist dev-corpus``, any ``--source``) has a stable id
(for instance ``music21:ryansMammoth/AcaciaReel.abc#1``) and belongs to one of two splits, fixed by
that id alone: ``"tune"`` (defaults may be chosen on it) or ``"held"`` (kept for judging them).
:func:`split_of` hashes the id with SHA-1: an even digest is ``"tune"``, an odd one ``"held"``, so a
piece never changes side when the corpus grows, is rebuilt or is built by another source.

:func:`merge_corpus_index` writes ``DIR/corpus.json``, ``{"pieces": [{"piece", "source", "split",
"licence", "duration_s", "wav", ...}], ...}``: the entries of the pieces just written replace those
with the same id, the others and the index's other keys are kept, so several sources can write into
one folder. The audio of a piece lies in ``DIR/tune`` or ``DIR/held`` by its split.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from sectionist.analysis.errors import InputError
from sectionist.store.fileio import atomic_write

#: The two splits, in the order of :func:`split_of`'s parity.
SPLITS: tuple[str, str] = ("tune", "held")

#: Name of the index a development corpus keeps in its folder.
INDEX_NAME = "corpus.json"

#: Fields every entry of the index has (``wav``: the audio's path relative to the corpus folder,
#: ``SPLIT/NAME.wav``).
INDEX_FIELDS: tuple[str, ...] = ("piece", "source", "split", "licence", "duration_s", "wav")


def split_of(piece_id: str) -> str:
    """``"tune"`` if the SHA-1 of ``piece_id`` (UTF-8) is even, else ``"held"``.

    >>> split_of("music21:bach/bwv103.6.mxl") in SPLITS
    True
    """
    if not isinstance(piece_id, str) or not piece_id:
        raise ValueError(f"piece id {piece_id!r}: must be a non-empty string")
    return SPLITS[hashlib.sha1(piece_id.encode("utf-8")).digest()[-1] % 2]


def read_corpus_index(out_dir) -> dict:
    """The index ``out_dir/corpus.json`` as a dict (``{"pieces": []}`` when there is none).

    Raises
    ------
    InputError
        The file exists but is not an index of this format.
    """
    path = Path(out_dir) / INDEX_NAME
    if not path.exists():
        return {"pieces": []}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        pieces = data["pieces"]
        if not isinstance(pieces, list) or not all(isinstance(p, dict) and "piece" in p for p in pieces):
            raise TypeError("'pieces' must be a list of objects with a 'piece' id")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path}: not a development-corpus index ({exc}); move it away or delete it") from exc
    return data


def merge_corpus_index(out_dir, entries, *, replace_sources: str | None = None, **info) -> list[dict]:
    """Write ``out_dir/corpus.json`` with ``entries`` merged into what it held (same id: replaced).

    Parameters
    ----------
    out_dir : str or Path
        The corpus folder.
    entries : iterable of dict
        One per piece, with at least :data:`INDEX_FIELDS`; ``split`` must be ``split_of(piece)``.
    replace_sources : str, optional
        Drop the entries held whose ``source`` starts with this (``"music21:"``) and that ``entries``
        do not have: the index then lists that source's last build only.
    **info
        Top-level keys to set beside ``pieces`` (the index's other keys are kept).

    Returns
    -------
    list of dict
        The entries dropped by ``replace_sources``. The index, its pieces sorted by source then
        piece id, is written atomically.
    """
    entries = list(entries)
    data = read_corpus_index(out_dir)
    new = {e.get("piece") for e in entries}
    gone = [p for p in data["pieces"] if replace_sources is not None and p["piece"] not in new
            and str(p.get("source", "")).startswith(replace_sources)]
    by_id = {p["piece"]: p for p in data["pieces"] if p not in gone}
    for e in entries:
        missing = [k for k in INDEX_FIELDS if k not in e]
        if missing:
            raise ValueError(f"corpus index entry {e.get('piece')!r} lacks {', '.join(missing)}")
        if e["split"] != split_of(e["piece"]):
            raise ValueError(f"corpus index entry {e['piece']!r}: split {e['split']!r} is not split_of(piece)")
        by_id[e["piece"]] = dict(e)
    pieces = sorted(by_id.values(), key=lambda p: (str(p.get("source", "")), p["piece"]))
    data.update(info)
    data["split_rule"] = "sha1(piece) even -> tune, odd -> held"
    data["splits"] = {s: sum(p.get("split") == s for p in pieces) for s in SPLITS}
    data["pieces"] = pieces
    text = (json.dumps(data, indent=1, ensure_ascii=False) + "\n").encode()
    atomic_write(Path(out_dir) / INDEX_NAME, lambda fh: fh.write(text))
    return gone
