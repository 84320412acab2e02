"""The judging package's layering: auth only authenticates (it never imports ``sectionist.dashboard.judging``),
the statistics load neither Flask nor SQLAlchemy, and ``/healthz`` is registered once."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import sectionist.dashboard

DASHBOARD = Path(sectionist.dashboard.__file__).resolve().parent


def _imported_modules(path: Path) -> set[str]:
    """Every module an ``import`` anywhere in ``path`` names (function-level imports included),
    relative ones resolved against the file's package."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = ".".join(path.parent.relative_to(DASHBOARD.parents[1]).parts)
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{a.name}" for a in node.names)
    return names


def test_auth_never_imports_judging():
    for path in (DASHBOARD / "auth").rglob("*.py"):
        names = _imported_modules(path)
        assert not any(n == "sectionist.dashboard.judging" or n.startswith("sectionist.dashboard.judging.")
                       for n in names), (path, names)
    assert not (DASHBOARD / "judgements.py").exists()


def test_statistics_need_neither_flask_nor_sqlalchemy():
    code = (
        "import sys\n"
        "import sectionist.dashboard.judging.stats as s\n"
        "assert s.wilson_interval(5, 10)[0] > 0\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy', 'dash', 'werkzeug'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=DASHBOARD.parent)
    assert out.stdout.strip() == "", out.stdout


def test_judging_package_is_cheap_to_import():
    code = ("import sys, sectionist.dashboard.judging; "
            "print(','.join(m for m in sys.modules if m.startswith('sectionist.dashboard.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=DASHBOARD.parent)
    assert out.stdout.strip() == "sectionist.dashboard.judging"


def test_role_rule_is_the_user_models():
    from sectionist.dashboard.models import User

    assert [User(role=r).can_judge for r in ("admin", "expert", "viewer")] == [True, True, False]
    assert User(role="admin").is_admin and not User(role="expert").is_admin
    assert User(role="expert").has_role("admin", "expert") and not User(role="viewer").has_role("admin", "expert")


def test_healthz_is_registered_once(tmp_path):
    from synthetic_store import build_synthetic_store

    from sectionist.dashboard.app import create_app

    s = build_synthetic_store(tmp_path / "st", n_sections=20, sections_per_song=10, random_state=2)
    app = create_app(s.uri, db_url=f"sqlite:///{tmp_path / 'h.sqlite'}", secret_key="h" * 40)
    rules = [r for r in app.server.url_map.iter_rules() if r.rule == "/healthz"]
    assert len(rules) == 1
    judging = sorted(r.rule for r in app.server.url_map.iter_rules() if r.endpoint.startswith("sectionist_judging."))
    assert judging == ["/api/cluster-names", "/api/cluster-names", "/api/cluster-verdicts", "/api/judgements", "/api/judgements",
                       "/api/pair-judgements", "/export/cluster-verdicts.<fmt>", "/export/judgements.<fmt>"]
    client = app.server.test_client()
    assert client.get("/healthz").get_json() == {"status": "ok"}
    # the database check: a database that cannot answer makes the check fail (503, JSON)
    from sectionist.dashboard.auth.context import get_db

    db = get_db(app.server)
    db.ping = lambda: False
    try:
        bad = client.get("/healthz")
    finally:
        del db.ping
    assert bad.status_code == 503
    assert bad.get_json() == {"status": "error", "reason": "database unavailable", "store": "ok", "database": "unavailable"}
