"""``sectionist judgements summary|export``: the verdicts from the command line, on a real SQLite file."""

from __future__ import annotations

import pandas as pd
import pytest

from sectionist.dashboard.judging import repository, stats
from sectionist.dashboard.auth.accounts import create_user, get_user
from sectionist.dashboard.models import get_database
from sectionist.cli import main as cli_main


@pytest.fixture
def db_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'judge.sqlite'}"
    db = get_database(url)
    for name in ("ada", "bob"):
        create_user(db, name, "expert")
    ada, bob = get_user(db, "ada"), get_user(db, "bob")
    # run km: ada agrees on 8 of 10; run gmm: ada agrees on 2 of 10; bob repeats ada on km s0-s4
    for i in range(10):
        repository.record_judgement(db, ada, run_id="km", section_id=f"s{i}", cluster=i % 3,
                                    verdict="agree" if i < 8 else "disagree")
        repository.record_judgement(db, ada, run_id="gmm", section_id=f"s{i}", cluster=i % 2,
                                    verdict="agree" if i < 2 else "disagree")
    for i in range(5):
        repository.record_judgement(db, bob, run_id="km", section_id=f"s{i}", cluster=i % 3, verdict="agree")
    repository.record_judgement(db, ada, run_id="km", section_id="s0", cluster=0, verdict="unsure")  # supersedes
    repository.record_cluster_verdict(db, ada, run_id="km", cluster=1, verdict="split", comment="two sounds")
    return url


def test_summary(db_url, capsys):
    assert cli_main(["judgements", "summary", "--db", db_url]) == 0
    out = capsys.readouterr().out
    assert "judgements: 25 current verdicts by 2 experts on 20 (run, section) pairs" in out
    km = next(line for line in out.splitlines() if line.strip().startswith("km "))
    assert km.split()[1:5] == ["14", "12", "2", "1"]  # verdicts (unsure left out), agree, disagree, unsure
    assert "86 %" in km  # 12 of 14
    assert "is km really ahead?" in out
    lo, hi = (round(100 * v) for v in stats.newcombe_interval(12, 14, 2, 10)[1:])
    assert f"[{lo:+d}, {hi:+d}]  ahead" in out
    assert "Fleiss' kappa" in out and "over 5 (run, section) pairs" in out
    assert "km cluster 1: coherent 0, mixed 0, split 1, merge 0" in out


def test_export_formats_and_history(db_url, tmp_path, capsys):
    current = repository.judgements_frame(get_database(db_url))
    path = tmp_path / "out" / "j.parquet"
    path.parent.mkdir()
    assert cli_main(["judgements", "export", "--db", db_url, "-o", str(path)]) == 0
    back = pd.read_parquet(path)
    assert len(back) == len(current) == 25 and set(back["verdict"]) == {"agree", "disagree", "unsure"}
    assert cli_main(["judgements", "export", "--db", db_url, "--history", "-o", str(tmp_path / "h.csv")]) == 0
    assert len(pd.read_csv(tmp_path / "h.csv")) == 26  # the superseded verdict too
    assert cli_main(["judgements", "export", "--db", db_url, "--cluster-verdicts", "-o", str(tmp_path / "c.csv")]) == 0
    assert pd.read_csv(tmp_path / "c.csv")["comment"].tolist() == ["two sounds"]
    capsys.readouterr()
    assert cli_main(["judgements", "export", "--db", db_url, "-o", "-"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "verdict" in lines[0].split(",") and len(lines) == 1 + 25


def test_clear_errors(db_url, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("SECTIONIST_DB_URL", raising=False)
    assert cli_main(["judgements", "export", "--db", db_url, "-o", str(tmp_path / "j.xlsx")]) == 2
    assert "--format csv or parquet" in capsys.readouterr().err
    assert cli_main(["judgements", "export", "--db", db_url, "-o", str(tmp_path / "nope" / "j.csv")]) == 2
    assert "no such folder" in capsys.readouterr().err
    assert cli_main(["judgements", "summary"]) == 2
    assert "say which database" in capsys.readouterr().err
    empty = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    assert cli_main(["judgements", "summary", "--db", empty]) == 0
    assert "no judgements yet" in capsys.readouterr().out


def test_csv_export_neutralises_formulas(db_url, tmp_path, capsys):
    import csv

    db = get_database(db_url)
    repository.record_judgement(db, get_user(db, "bob"), run_id="km", section_id="s9", cluster=-1,
                                verdict="disagree", comment="=cmd|' /C calc'!A0")
    out = tmp_path / "j.csv"
    assert cli_main(["judgements", "export", "--db", db_url, "-o", str(out)]) == 0
    rows = [r for r in csv.DictReader(out.open(newline="")) if r["section_id"] == "s9" and r["username"] == "bob"]
    assert rows[0]["comment"] == "'=cmd|' /C calc'!A0" and rows[0]["cluster"] == "-1"
    capsys.readouterr()
    assert cli_main(["judgements", "export", "--db", db_url, "-o", "-"]) == 0
    assert "'=cmd|" in capsys.readouterr().out
