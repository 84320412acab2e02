"""The locked install: every dependency pinned with hashes, the pins inside pyproject's ranges, the
app's lock a subset of the test lock, and every install path (make, Docker) reading a lock."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements" / "py311.lock"
TEST_LOCK = ROOT / "requirements" / "py311-test.lock"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)(?:\s*;\s*([^\\]+?))?\s*\\?$")


def read_lock(path: Path) -> dict[str, tuple[str, int]]:
    """``{name: (version, number of hashes)}`` of a pip-compile style lock."""
    pins: dict[str, list] = {}
    current = None
    for line in path.read_text().splitlines():
        m = PIN.match(line)
        if m:
            current = canonicalize_name(m.group(1))
            assert current not in pins, f"{path.name}: {current} pinned twice"
            pins[current] = [m.group(2), 0]
        elif line.strip().startswith("--hash=sha256:") and current:
            pins[current][1] += 1
    return {name: (version, hashes) for name, (version, hashes) in pins.items()}


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


@pytest.mark.parametrize("lock", [LOCK, TEST_LOCK], ids=lambda p: p.name)
def test_every_pin_has_hashes(lock):
    pins = read_lock(lock)
    assert len(pins) > 40
    assert not [name for name, (_, hashes) in pins.items() if hashes == 0]


@pytest.mark.parametrize("lock, extras", [(LOCK, ()), (TEST_LOCK, ("test",))], ids=["app", "test"])
def test_the_lock_satisfies_pyproject(lock, extras):
    """Each dependency pyproject.toml names is pinned, at a version inside its declared range."""
    pins = read_lock(lock)
    reqs = [Requirement(r) for r in project()["dependencies"]]
    for extra in extras:
        reqs += [Requirement(r) for r in project()["optional-dependencies"][extra]]
    for req in reqs:
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is not in {lock.name}"
        assert req.specifier.contains(pins[name][0], prereleases=True), \
            f"{lock.name} pins {name}=={pins[name][0]}, outside pyproject's {req.specifier}"


def test_the_app_lock_is_the_test_lock_less_the_test_tools():
    app, test = read_lock(LOCK), read_lock(TEST_LOCK)
    assert {n: v for n, (v, _) in app.items()} == {n: test[n][0] for n in app}


def test_moto_stays_below_the_release_that_authorises_a_made_up_action():
    """moto 5.2.6 checks ListObjectsV2 against ``s3:ListObjectsV2``, which is no IAM action (AWS checks
    ``s3:ListBucket``): our reader policy is right, so moto is held below that release."""
    version = read_lock(TEST_LOCK)["moto"][0]
    assert tuple(int(x) for x in version.split(".")[:3]) < (5, 2, 6)


def test_make_and_docker_install_from_the_locks():
    makefile = (ROOT / "Makefile").read_text()
    assert "--require-hashes -r $(TEST_LOCK)" in makefile
    assert "TEST_LOCK := requirements/py311-test.lock" in makefile
    assert re.search(r"^test-latest:", makefile, re.M) and re.search(r"^lock:", makefile, re.M)
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "--require-hashes -r requirements/py311.lock" in dockerfile
    assert "pip install --no-deps -e ." in dockerfile
    assert "make test" in (ROOT / ".ci" / "run").read_text()
