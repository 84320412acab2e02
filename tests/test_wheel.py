"""The built wheel: one top-level import package, ``sectionist``, carrying its web assets, login
templates, translations and database migrations."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory) -> list[str]:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(out), str(ROOT)], check=True, capture_output=True, text=True, timeout=300)
    (wheel,) = out.glob("sectionist-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        return zf.namelist()


def test_the_only_top_level_package_is_sectionist(wheel_names):
    tops = {name.split("/")[0] for name in wheel_names if not name.split("/")[0].endswith(".dist-info")}
    assert tops == {"sectionist"}


def test_the_wheel_carries_the_package_data(wheel_names):
    names = set(wheel_names)
    assert "sectionist/dashboard/assets/style.css" in names
    assert "sectionist/dashboard/auth/templates/login.html" in names
    assert "sectionist/dashboard/ui/translations/es/LC_MESSAGES/messages.mo" in names
    assert any(n.startswith("sectionist/dashboard/migrations/") and n.endswith(".py") for n in names)
    assert not any(n.startswith(("tests/", "bench/", "deploy/")) for n in names)
