"""The Python blocks of README.md and docs/*.md run (issue 24.13: the embeddings block had gone stale).

Every ```python block is executed in a fresh namespace, in a temporary working folder, except those whose
first line is a ``# not run: <why>`` comment (a block that needs an analysed store or a web request).
The skipped ones are few and listed here, so a new skip is a visible decision.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
#: The blocks left out, by file and reason: each needs something a test cannot give it in isolation.
SKIPPED = {
    ("docs/modeling.md", "needs an analysed store at stores/study"),
    ("docs/i18n.md", "lines of a page's layout"),
}


def blocks():
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for i, m in enumerate(BLOCK.finditer(path.read_text(encoding="utf-8"))):
            yield path.relative_to(ROOT).as_posix(), i, m.group(1)


def skip_reason(code: str) -> str | None:
    first = code.lstrip().splitlines()[0] if code.strip() else ""
    return first.split("# not run:", 1)[1].strip() if first.startswith("# not run:") else None


RUN = [(f, i, code) for f, i, code in blocks() if skip_reason(code) is None]


@pytest.mark.parametrize("name, index, code", RUN, ids=[f"{f}#{i}" for f, i, _ in RUN])
def test_docs_python_block_runs(name, index, code, tmp_path, monkeypatch):
    if "musicnn" in code:
        from sectionist.analysis.embeddings import modelcache

        modelcache.fetch_musicnn()  # as `make models`: the checkpoints come from PyPI once
    monkeypatch.chdir(tmp_path)
    exec(compile(code, f"{name} block {index}", "exec"), {"__name__": f"docs_block_{index}"})


def test_the_skipped_blocks_are_the_known_few():
    skipped = {(f, skip_reason(code)) for f, _, code in blocks() if skip_reason(code) is not None}
    assert {(f, next(r for sf, r in SKIPPED if sf == f and reason.startswith(r))) for f, reason in skipped} == SKIPPED
    assert len(RUN) >= 2
