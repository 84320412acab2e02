# The two commands: `make demo` and `make test`. Both create .venv and install what they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed
DEMO_DIR   ?= demo
DEMO_SONGS ?= 12
DEMO_SECONDS ?= 180
PORT ?= 8050

.PHONY: demo test venv system models clean bench translations

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip wheel

# Reinstall whenever pyproject.toml changes. torch 2.13.0 (CPU) is the build this machine kind ships.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[test]'
	$(PY) -m pip install --quiet 'torch==2.13.0' || $(PY) -m pip install --quiet torch
	touch $(STAMP)

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
	@echo
	@echo "== A login for this machine (a new random password on every 'make demo') =="
	$(BIN)/sectionist users add demo-admin --role admin --reset-if-exists --store $(DEMO_DIR)/store
	@echo
	@echo "== Dashboard: http://127.0.0.1:$(PORT)  (Ctrl-C stops it) =="
	$(BIN)/sectionist serve --store $(DEMO_DIR)/store --host 127.0.0.1 --port $(PORT) --workers 2

test: $(STAMP) models system
	$(BIN)/python -m pytest -q

# Benchmarks (by hand, not CI): each prints its ratio against a named reference and ends with one JSON line.
bench: $(STAMP) models
	$(PY) bench/features.py
	$(PY) bench/embeddings.py
	$(PY) bench/projection.py
	$(PY) bench/dashboard.py
	$(PY) bench/worker_memory.py

# Extract the app's strings, merge them into the Spanish catalogue and compile it (docs/i18n.md).
translations: $(STAMP)
	$(PY) -m sectionist.dashboard.ui.i18n_tools update

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache test-artifacts
