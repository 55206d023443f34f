# The README's two commands: `make run` and `make test`. Each creates .venv if missing.
# Users with a GPU can pick their own torch build:  make run TORCH="torch==2.13.0 --index-url ..."
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# The CPU build that lies on this machine's disk; a bare "torch" would pull a multi-GB CUDA build.
TORCH  ?= torch==2.13.0
PORT   ?= 8501

.PHONY: run test test-slow bench demo browser clean models

$(VENV)/.installed: pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

run: $(VENV)/.installed
	@echo "LLM Explainer: open http://localhost:$(PORT) in your browser (Ctrl-C stops it)"
	$(VENV)/bin/streamlit run Home.py --server.port $(PORT)

# Debian's chromium for the real-browser tests (never `playwright install`: it downloads).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get update -q && apt-get install -y -q chromium) >/dev/null; \
	  else echo "chromium not found: browser tests will be skipped (apt-get install chromium)"; fi; }

test: $(VENV)/.installed browser
	$(PY) -m pytest -q

test-slow: $(VENV)/.installed browser
	$(PY) -m pytest -q -m slow

bench: $(VENV)/.installed
	$(PY) -m explainer bench

demo: $(VENV)/.installed
	$(PY) -m explainer demo

clean:
	rm -rf $(VENV) test-artifacts .pytest_cache
