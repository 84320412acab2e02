# The two commands: `make demo` and `make test`. Both create .venv and install what they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed
# The locks: every version the suite was proven with, with hashes (Python 3.11 on Linux).
# The app's dependencies (the Docker image) and the app's plus the test tools' (make demo/test).
LOCK      := requirements/py311.lock
TEST_LOCK := requirements/py311-test.lock
UV_VERSION := 0.13.9
LATEST_VENV := .venv-latest
DEMO_DIR   ?= demo
DEMO_SONGS ?= 12
DEMO_SECONDS ?= 180
PORT ?= 8050

.PHONY: demo test test-latest lock venv system models clean bench bench-peers translations

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip wheel

# Install exactly the locked versions (hashes checked), then sectionist itself without resolving
# anything again; reinstall whenever the lock or pyproject.toml changes. torch 2.13.0 (CPU) is the
# build this machine kind ships (optional: musicnn embeddings run on it).
$(STAMP): pyproject.toml $(TEST_LOCK) | $(PY)
	$(PY) -m pip install --quiet --require-hashes -r $(TEST_LOCK)
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m pip install --quiet 'torch==2.13.0' || $(PY) -m pip install --quiet torch
	touch $(STAMP)

# Refresh both locks to the newest versions pyproject.toml allows (then run `make test` and commit).
lock: | $(PY)
	$(PY) -m pip install --quiet 'uv==$(UV_VERSION)'
	$(BIN)/uv pip compile pyproject.toml --extra test --generate-hashes --upgrade --python-version 3.11 \
	    --python-platform linux --custom-compile-command 'make lock' -o $(TEST_LOCK)
	$(BIN)/uv pip compile pyproject.toml --generate-hashes --python-version 3.11 --python-platform linux \
	    --constraint $(TEST_LOCK) --custom-compile-command 'make lock' -o $(LOCK)

venv: $(STAMP)

# Pretrained musicnn weights: the musicnn wheel from PyPI, unpacked into the model cache (no other host).
models: $(STAMP)
	$(BIN)/sectionist models fetch

# Debian packages the tests use (browser tests, PostgreSQL, nginx, shellcheck, ffmpeg for the fallback decoder).
system:
	bash scripts/install-system-deps.sh

# The demo corpus is deterministic: it is written once; the analysis resumes/skips what is done.
$(DEMO_DIR)/songs/.complete: | $(STAMP)
	$(BIN)/sectionist demo-corpus $(DEMO_DIR)/songs --songs $(DEMO_SONGS) --seconds $(DEMO_SECONDS) --seed 0
	touch $@

demo: $(STAMP) models $(DEMO_DIR)/songs/.complete
	$(BIN)/sectionist analyze $(DEMO_DIR)/songs --store $(DEMO_DIR)/store
	$(BIN)/sectionist info --store $(DEMO_DIR)/store
	$(BIN)/sectionist db upgrade --store $(DEMO_DIR)/store
	$(BIN)/sectionist media-warm --store $(DEMO_DIR)/store
	@echo
	@echo "== A login for this machine (a new random password on every 'make demo') =="
	$(BIN)/sectionist users add demo-admin --role admin --reset-if-exists --store $(DEMO_DIR)/store
	@echo
	@echo "== Dashboard: http://127.0.0.1:$(PORT)  (Ctrl-C stops it) =="
	$(BIN)/sectionist serve --store $(DEMO_DIR)/store --host 127.0.0.1 --port $(PORT) --workers 2

test: $(STAMP) models system
	$(BIN)/python -m pytest -q

# The suite on the newest release of every dependency (a venv of its own, not the lock), so that an
# upstream release that breaks us is seen before a fresh clone meets it.
test-latest: system
	$(PYTHON) -m venv $(LATEST_VENV)
	$(LATEST_VENV)/bin/python -m pip install --quiet --upgrade pip wheel
	$(LATEST_VENV)/bin/python -m pip install --quiet --upgrade --upgrade-strategy eager -e '.[test]'
	$(LATEST_VENV)/bin/python -m pip install --quiet 'torch==2.13.0' || $(LATEST_VENV)/bin/python -m pip install --quiet torch
	$(LATEST_VENV)/bin/sectionist models fetch
	$(LATEST_VENV)/bin/python -m pip list --format=freeze > $(LATEST_VENV)/versions.txt
	$(LATEST_VENV)/bin/python -m pytest -q -p no:cacheprovider

# Benchmarks (by hand, not CI): each prints its ratio against a named reference and ends with one JSON line.
bench: $(STAMP) models
	$(PY) bench/features.py
	$(PY) bench/embeddings.py
	$(PY) bench/projection.py
	$(PY) bench/dashboard.py
	$(PY) bench/worker_memory.py

# The structure bench's peers in a venv of their own (MSAF needs scipy < 1.12): bench/peers/README.md.
bench-peers:
	bash bench/peers/setup_msaf.sh

# Extract the app's strings, merge them into the Spanish catalogue and compile it (docs/i18n.md).
translations: $(STAMP)
	$(PY) -m sectionist.dashboard.ui.i18n_tools update

clean:
	rm -rf $(VENV) $(LATEST_VENV) $(DEMO_DIR) .pytest_cache test-artifacts
