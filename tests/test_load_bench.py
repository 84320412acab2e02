"""bench/load.py end to end on a small synthetic store: it starts ``sectionist serve`` under gunicorn,
creates the accounts with ``sectionist users add``, and two Locust experts log in, open the Map and
click it through the real ``/_dash-update-component`` (a page change that breaks the recorded click
breaks this test); the last line is the JSON summary, with clicks and no errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from synthetic_store import build_synthetic_store

ROOT = Path(__file__).resolve().parents[1]

# a gunicorn server, two users opening the Map and ten seconds of clicks: ~40 s
pytestmark = pytest.mark.slow


def test_two_experts_click_the_map_through_the_real_server(tmp_path):
    store = build_synthetic_store(tmp_path / "store", n_sections=40, sections_per_song=10, section_seconds=2.0,
                                  audio=True, audio_sr=8000, random_state=1)
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "load.py"), "--users", "2", "--store", store.uri,
                          "--duration", "8", "--ramp", "6", "--think", "0.2,0.4", "--workers", "2", "--threads", "4",
                          "--workdir", str(tmp_path / "work")],
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.strip().splitlines()
    summary = json.loads(lines[-1])
    assert summary["users"] == [2]
    assert summary["clicks"][0] >= 3, out.stdout + out.stderr[-2000:]
    assert summary["errors"] == [0], out.stdout + out.stderr[-2000:]
    assert 0 < summary["p50_s"][0] <= summary["p95_s"][0]
    assert isinstance(summary["target_50_users_p95_lt_2s"], bool)
    level = next(line for line in lines if line.strip().startswith("2 users:"))
    assert "errors 0" in level
    # every click fetched its spectrogram (a PNG), made once per section into the shared media folder
    assert "click: spectrogram" in out.stdout
    media = list((tmp_path / "work" / "data" / "media").rglob("*.bin"))
    assert media, "no rendered media on disk"
