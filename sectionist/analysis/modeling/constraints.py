"""Experts' answers as pair constraints on sections: :class:`Constraints` (pure, no store).

A *must-link* says two sections are the same kind of section (they belong in one cluster), a
*cannot-link* that they are not. Each pair keeps where it came from (``answers.csv:7``, ``verdict
#12 by ada``), so every error names the row or verdict to fix. :meth:`Constraints.from_csv` reads a
CSV ``section_a,section_b,relation`` (``same``/``different``) written by people or scripts;
:mod:`sectionist.dashboard.judging.guidance` builds them from the verdicts in the database.
A guided version (:mod:`sectionist.analysis.modeling.guided`) honours every one of them.

Besides pairs, a constraint set may carry cluster verdicts that change K: ``splits`` (a cluster of
the parent version that should be two; the guided fit adds a cluster and a cannot-link between its
two halves) and ``k_delta`` (+1 per split, −1 per merge of the parent version).
"""

from __future__ import annotations

import csv
import re
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from sectionist.analysis.errors import ParameterError

__all__ = ["CSV_COLUMNS", "RELATIONS", "Constraints", "Split", "pair_key"]

#: The relations a pair may have, as the CSV and the pairwise answers spell them.
RELATIONS = ("same", "different")
#: The columns a constraints CSV must have (others are ignored, e.g. a comment).
CSV_COLUMNS = ("section_a", "section_b", "relation")


def pair_key(a: str, b: str) -> tuple[str, str]:
    """The pair in its stored order (``a < b``): one key whichever way round it was given."""
    return (a, b) if a <= b else (b, a)


@dataclass(frozen=True)
class Split:
    """A cluster of the parent version that an expert says should be split.

    Attributes
    ----------
    members : frozenset of str
        Its sections in the parent version.
    source : str
        Where the verdict came from (for errors and the record).
    """

    members: frozenset
    source: str


@dataclass(frozen=True)
class Constraints:
    """Must-links and cannot-links between sections, each with its source.

    Parameters
    ----------
    must, cannot : frozenset of (str, str)
        Pairs in stored order (:func:`pair_key`).
    sources : dict
        ``(relation, a, b) → source`` for every pair (``relation``: ``same`` for a must-link,
        ``different`` for a cannot-link): where it came from, named in errors.
    splits : tuple of Split
        Clusters of the parent version to split (K + 1 each).
    k_delta : int
        Change of K asked by cluster verdicts on the parent version (+1 per split, −1 per merge).
    left_out : tuple of str
        Sources of answers left out because newer ones contradict them (``newest_wins``).
    """

    must: frozenset = frozenset()
    cannot: frozenset = frozenset()
    sources: dict = field(default_factory=dict, compare=False, hash=False)
    splits: tuple = ()
    k_delta: int = 0
    left_out: tuple = ()

    # ---- building ----------------------------------------------------------------------------
    @classmethod
    def from_pairs(cls, rows, *, known_sections=None, splits=(), k_delta: int = 0,
                   newest_wins: bool = False) -> Constraints:
        """Constraints from ``(section_a, section_b, relation, source)`` rows, checked (:meth:`validate`).

        A pair given twice with the same relation is kept once (its first source); a bad relation, a
        self-pair, an unknown section or a contradiction raises :class:`ParameterError` naming the
        source of the row. With ``newest_wins`` the rows are taken as oldest first, and a row that
        newer rows contradict (directly or through chains of ``same``) is left out instead, its
        source listed in :attr:`left_out`.
        """
        parsed = []
        for a, b, relation, source in rows:
            a, b = _clean_id(a, "section_a", source), _clean_id(b, "section_b", source)
            rel = str(relation).strip().lower() if relation is not None else ""
            if rel not in RELATIONS:
                raise ParameterError(f"{source}: relation {relation!r}: use one of {', '.join(RELATIONS)}")
            if a == b:
                raise ParameterError(f"{source}: section {a!r} is paired with itself (a pair needs two sections)")
            parsed.append((pair_key(a, b), rel, source))
        left_out = []
        if newest_wins:
            consistent, kept = _Consistent(), []
            for row in reversed(parsed):  # newest first: an older row that contradicts them is left out
                if consistent.add(row[0], row[1]):
                    kept.append(row)
                else:
                    left_out.append(row[2])
            parsed = kept[::-1]
        must, cannot, sources = set(), set(), {}
        for key, rel, source in parsed:
            (must if rel == "same" else cannot).add(key)
            sources.setdefault((rel, *key), source)
        return cls(frozenset(must), frozenset(cannot), sources, tuple(splits), int(k_delta),
                   tuple(left_out[::-1])).validate(known_sections)

    @classmethod
    def from_csv(cls, path, known_sections=None, *, newest_wins: bool = False) -> Constraints:
        """Read a CSV with the columns ``section_a,section_b,relation`` (``same``/``different``).

        Parameters
        ----------
        path : str or Path
            The file (UTF-8, a byte-order mark allowed; blank lines skipped; other columns ignored).
        known_sections : iterable of str, optional
            Section ids a pair may name (e.g. the run's); others are an error.
        newest_wins : bool
            A row that later rows contradict is left out (:attr:`left_out`) instead of an error.

        Raises
        ------
        ParameterError
            The file is missing or lacks a column, or a row is bad; the message names the row as
            ``file.csv:7`` (its line in the file).
        """
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise ParameterError(f"{path}: no such constraints file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ParameterError(f"{path}: cannot read it as UTF-8 text ({exc})") from None
        reader = csv.reader(text.splitlines())
        header = next(reader, None)
        names = [h.strip().lower() for h in header] if header else []
        missing = [c for c in CSV_COLUMNS if c not in names]
        if missing:
            raise ParameterError(f"{path}:1: the header lacks {', '.join(missing)} (it must name the columns "
                                 f"{','.join(CSV_COLUMNS)})")
        at = [names.index(c) for c in CSV_COLUMNS]
        rows = []
        for record in reader:
            if not any(v.strip() for v in record):
                continue
            where = f"{path.name}:{reader.line_num}"
            if len(record) <= max(at):
                raise ParameterError(f"{where}: {len(record)} value(s); a row needs {','.join(CSV_COLUMNS)}")
            rows.append((record[at[0]], record[at[1]], record[at[2]], where))
        return cls.from_pairs(rows, known_sections=known_sections, newest_wins=newest_wins)

    # ---- checking ----------------------------------------------------------------------------
    def validate(self, known_sections=None) -> Constraints:
        """Check the set as a whole; returns ``self``.

        Raises
        ------
        ParameterError
            A pair names a section not in ``known_sections``; a pair is both a must-link and a
            cannot-link; or a cannot-link joins two sections that must-links put together through
            other sections (the message names the rows of the chain).
        """
        if known_sections is not None:
            known = set(known_sections)
            for rel, pairs in (("same", self.must), ("different", self.cannot)):
                for a, b in sorted(pairs, key=lambda p: _natural(self.source(rel, *p))):
                    for s in (a, b):
                        if s not in known:
                            raise ParameterError(f"{self.source(rel, a, b)}: unknown section {s!r} (not a section "
                                                 "of the run)")
            for sp in self.splits:
                unknown = sorted(set(sp.members) - known)
                if len(set(sp.members) & known) < 2:
                    raise ParameterError(f"{sp.source}: the cluster to split has fewer than 2 sections in the run"
                                         + (f" ({unknown[0]!r} is unknown)" if unknown else ""))
        joined = _Consistent()  # must-link components: only a cannot-link inside one needs its chain
        graph: dict = {}
        for a, b in self.must:
            joined.add((a, b), "same")
            graph.setdefault(a, []).append(b)
            graph.setdefault(b, []).append(a)
        for a, b in sorted(self.cannot, key=lambda p: _natural(self.source("different", *p))):
            if joined.find(a) != joined.find(b):
                continue
            path = _path(graph, a, b)
            cannot_src = self.source("different", a, b)
            links = [self.source("same", *pair_key(x, y)) for x, y in zip(path, path[1:])]
            if len(path) == 2:
                raise ParameterError(f"{cannot_src}: {a!r} and {b!r} are said to be different, and the same "
                                     f"at {links[0]}: a pair cannot be both")
            raise ParameterError(f"{cannot_src}: {a!r} and {b!r} are said to be different, but {', '.join(links)} "
                                 f"make them the same (through {', '.join(repr(s) for s in path[1:-1])})")
        return self

    # ---- reading -----------------------------------------------------------------------------
    def source(self, relation: str, a: str, b: str) -> str:
        """Where the pair ``(a, b)`` of ``relation`` came from (``"?"`` when not recorded)."""
        return self.sources.get((relation, *pair_key(a, b)), "?")

    @property
    def n_pairs(self) -> int:
        """Must-links plus cannot-links."""
        return len(self.must) + len(self.cannot)

    @property
    def sections(self) -> set:
        """Every section some pair names."""
        return {s for pair in self.must | self.cannot for s in pair}

    def components(self) -> list[list[str]]:
        """The must-link components of two sections or more (sorted lists, in a stable order): sections
        that must end in one cluster."""
        parent: dict = {}

        def find(x):
            parent.setdefault(x, x)
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for a, b in self.must:
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
        groups: dict = {}
        for x in list(parent):
            groups.setdefault(find(x), []).append(x)
        return sorted((sorted(g) for g in groups.values() if len(g) > 1), key=lambda g: g[0])

    def union(self, other: Constraints, known_sections=None) -> Constraints:
        """Both sets of pairs (and splits, K changes), checked together."""
        sources = dict(other.sources)
        sources.update(self.sources)
        return Constraints(self.must | other.must, self.cannot | other.cannot, sources,
                           self.splits + other.splits, self.k_delta + other.k_delta,
                           self.left_out + other.left_out).validate(known_sections)

    def with_cannot(self, pairs_sources, known_sections=None) -> Constraints:
        """A copy with the cannot-links ``[((a, b), source), …]`` added, checked."""
        cannot, sources = set(self.cannot), dict(self.sources)
        for (a, b), src in pairs_sources:
            key = pair_key(a, b)
            cannot.add(key)
            sources.setdefault(("different", *key), src)
        return Constraints(self.must, frozenset(cannot), sources, self.splits, self.k_delta,
                           self.left_out).validate(known_sections)


class _Consistent:
    """Pairs added one at a time, refusing one that contradicts those kept: must-link components in
    a union-find, each component's cannot-linked components beside it."""

    def __init__(self):
        self.parent: dict = {}
        self.apart: dict = {}

    def find(self, x):
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def add(self, key, relation: str) -> bool:
        """Keep the pair (True) unless it contradicts the pairs kept so far (False)."""
        ra, rb = self.find(key[0]), self.find(key[1])
        apart_a, apart_b = self.apart.setdefault(ra, set()), self.apart.setdefault(rb, set())
        if relation == "different":
            if ra == rb:
                return False
            apart_a.add(rb)
            apart_b.add(ra)
            return True
        if ra == rb:
            return True
        if rb in apart_a:
            return False
        self.parent[rb] = ra  # merge b's component into a's, and its cannot-links with it
        for other in apart_b:
            self.apart[other].discard(rb)
            self.apart[other].add(ra)
        apart_a |= apart_b
        del self.apart[rb]
        return True


def _natural(text: str) -> list:
    """A sort key that orders ``a.csv:9`` before ``a.csv:10`` (rows in file order)."""
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", text)]


def _clean_id(value, name: str, source: str) -> str:
    text = "" if value is None else str(value).strip()
    if not text:
        raise ParameterError(f"{source}: {name} is empty")
    return text


def _path(graph: dict, a: str, b: str) -> list | None:
    """The shortest chain of must-links from ``a`` to ``b`` (breadth first), or None."""
    if a not in graph or b not in graph:
        return None
    prev = {a: None}
    todo = deque([a])
    while todo:
        x = todo.popleft()
        if x == b:
            out = [b]
            while prev[out[-1]] is not None:
                out.append(prev[out[-1]])
            return out[::-1]
        for y in sorted(graph[x]):
            if y not in prev:
                prev[y] = x
                todo.append(y)
    return None
