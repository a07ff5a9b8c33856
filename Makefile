# rnncourse: two commands for a fresh machine with Python 3.11 and make.
#   make lab    set everything up, then open the course in JupyterLab
#   make test   set everything up, then lint and run every test and every lesson
# Set-up is idempotent: .venv/.installed is rebuilt only when requirements.txt or pyproject.toml
# changed, so a second run installs nothing.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null || echo python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8888
WORKSPACE ?= workspace

.PHONY: lab test setup notebooks lint bench stress clean check-python test-deps site site-test site-clean \
  hub-test

# Stop at once, naming the version found and the one needed, on a Python older than 3.11.
define CHECK_PYTHON
@$(PYTHON) -c 'import sys; v = sys.version_info; sys.exit(0 if v >= (3, 11) else "rnncourse needs Python 3.11 or newer; found Python %d.%d.%d at %s. Install Python 3.11 and run: make $(MAKECMDGOALS) PYTHON=python3.11" % (v[0], v[1], v[2], sys.executable))' \
  || { echo "make: stopped: rnncourse needs Python 3.11 or newer (tried $(PYTHON))." >&2; exit 1; }
endef

check-python:
	$(CHECK_PYTHON)

setup: $(STAMP)

# torch first (all installs with --no-compile, then compileall below): on Linux its CPU build from PyTorch's CPU index (falls back to the default index
# after a 3 s probe when that cannot be reached; see rnncourse/torch_install.py), then the rest.
$(STAMP): requirements.txt pyproject.toml setup.py
	$(CHECK_PYTHON)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m rnncourse.torch_install
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@# Byte-compile everything once, on every core: pip compiles one file at a time (half of its
	@# 2.5 minutes on one core here), and the first import in a lesson is fast either way. A few
	@# files are for other Python versions (torch's py312_intrinsics.py); pip skips those too.
	@$(BIN)/python -m compileall -qq -j 0 "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')" || true
	@touch $@
	@echo "rnncourse: environment ready in $(VENV)"

# The learner's copy of the lessons, in the ignored folder $(WORKSPACE): saving there never
# changes a tracked file. Created on the first run, refreshed like `rnncourse lessons` (a lesson
# you changed is kept). Contributors edit notebooks/NN_slug.py, not these copies.
lab: check-python $(STAMP)
	$(BIN)/rnncourse lab $(WORKSPACE) --port $(PORT) --no-browser

# Two processes share the tests (pytest-xdist; tests/scheduling.py says which goes where): one
# core is otherwise idle while a lesson waits on its kernel. JOBS=0 runs them in one. The two
# cores are busier than their average use (about 130% in a fresh-clone CI run) suggests: a
# lesson in the browser is CPU-bound (lesson 6's test: 45 s alone, 99 s beside another lesson),
# and building the site beside the tests, even at nice 10, made pytest take 576 s instead of
# 377 s and the whole CI 770 s instead of 708 s (2026-12-02). Three processes took 395 s, with the
# built site's 19 tests among theirs, against 377 s for two without them: no gain worth a third
# browser. --durations=40 lists the slowest tests at the end, where CI's log shows them.
# --no-loadscope-reorder keeps the order scheduling.py sets (longest lessons first): xdist would
# sort the groups by their number of tests, and a lesson in the browser is one test.
# The JupyterHub class (tests/hub) is not part of make test: it creates system users (root
# only), and with N=2 beside the other tests it took 6 minutes in the first fresh-clone run and
# slowed every lesson. CI runs it on its own after make test (.ci/run: make hub-test N=2).
JOBS ?= 2
test: check-python $(STAMP) lint
	$(BIN)/python -m pytest tests notebooks --nbval-lax --nbval-current-env -p no:cacheprovider \
	  -n $(JOBS) --dist loadgroup --no-loadscope-reorder --ignore=tests/hub --durations=40

# Every lesson at both ends of the declared version ranges, each in its own venv (.venv-deps-*):
# not part of `make test` (it installs two environments). `make test-deps ENDS=lowest` for one.
test-deps: check-python
	PYTHON=$(PYTHON) .ci/test-deps $(ENDS)

# The course as a static website of the executed lessons, in $(SITE)/html (site/conf.py; not
# part of `make test`). Each lesson executes once and is cached in $(SITE)/jupyter_cache: a later
# build executes only lessons whose code changed (site/execute.py, $(SITE_JOBS) lessons at once;
# one that fails stops the build, naming the cell). `make site-test` checks the built site in
# Chromium (tests/site); `make site-clean` empties the cache.
SITE ?= build/site
SITE_JOBS ?= 2
site: check-python $(STAMP)
	$(BIN)/python site/execute.py $(SITE) --jobs $(SITE_JOBS)
	RNNCOURSE_SITE_BUILD=$(SITE) $(BIN)/python -m sphinx -b html -c site -d $(SITE)/doctrees \
	  -q --keep-going notebooks $(SITE)/html
	$(BIN)/python site/lessons_site.py $(SITE)/html

site-test: check-python $(STAMP)
	RNNCOURSE_SITE_BUILD=$(SITE) RNNCOURSE_REQUIRE_SITE=1 $(BIN)/python -m pytest tests/site \
	  -p no:cacheprovider -n $(JOBS)

site-clean:
	rm -rf $(SITE)

lint: check-python $(STAMP)
	$(BIN)/ruff check rnncourse tests notebooks $(wildcard benchmarks) $(wildcard site)

# Regenerate every lesson notebook (.ipynb, no outputs) from its reviewed source (.py).
notebooks: check-python $(STAMP)
	$(BIN)/python -m rnncourse.lessons sync

clean:
	rm -rf $(VENV) .venv-deps-lowest .venv-deps-newest .pytest_cache .ruff_cache build dist *.egg-info rnncourse.egg-info

# Speed and memory of the course: lessons, widgets, cells against torch.nn, complexity fits.
bench: check-python $(STAMP)
	$(BIN)/python -m benchmarks.run

# Every lesson under nbval while CPU-bound processes load every core: 3 runs each, 10 of
# lesson 2 (not part of make test; about three times the course's time, doubled by the load).
stress: check-python $(STAMP)
	$(BIN)/python -m benchmarks.stress

# A class of N students (at least 2; 4 by default) on a real JupyterHub on 127.0.0.1, each their
# own system user (needs root): all pull the course through an nbgitpuller link, run lesson 4 in
# Chromium at once and move its slider (tests/hub; not in make test, see above; CI runs N=2).
# Installs configurable-http-proxy from npm into build/hub when missing; writes $(HUB_RESULTS)
# and prints the table of spawn times, memory and CPU per student (docs/instructors.md).
N ?= 4
HUB_RESULTS ?= bench-results/hub.json
hub-test: check-python $(STAMP)
	RNNCOURSE_HUB_STUDENTS=$(N) RNNCOURSE_HUB_RESULTS=$(HUB_RESULTS) \
	  RNNCOURSE_REQUIRE_HUB=1 $(BIN)/python -m pytest tests/hub -p no:cacheprovider
