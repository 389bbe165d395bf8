# The book's two commands (see README.md):
#   make book   — set up .venv, execute every notebook at the preset (BOOK_PRESET, default
#                 quick) and build the HTML book into _build/html; fails on any error/warning.
#   make test   — set up .venv, run the unit tests and execute every notebook with nbval.
# Both create .venv when it is missing and install what they need into it.

PYTHON     ?= python3
VENV       := .venv
BIN        := $(VENV)/bin
STAMP      := $(VENV)/.installed
# torch is pinned first, then everything else with a range that 2.13 satisfies. On a
# machine without a local CPU wheel, point pip at PyTorch's CPU index, e.g.
#   make test TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH      ?= torch==2.13.0
TORCH_INDEX ?=
TORCH_ARGS := $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX),)
MATHJAX    ?= mathjax@3.2.2
JOBS       ?= 2

# Same numbers everywhere: one BLAS/OpenMP thread per process (tests run 2 processes).
export OMP_NUM_THREADS := 1
export MKL_NUM_THREADS := 1
export FREQLEARN_PROGRESS := 0
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: venv test unit book baseline ipynb check-html lint clean help

help:
	@echo "make book | test | unit | baseline | ipynb | check-html | lint | clean"

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q $(TORCH_ARGS) "$(TORCH)"
	$(BIN)/python -m pip install -q -e ".[book,test]"
	touch $(STAMP)

venv: $(STAMP)

# Unit tests + nbval execution of every notebook of _toc.yml (tests/test_book.py checks
# that the notebooks collected are exactly those of the table of contents).
test: $(STAMP)
	@$(BIN)/python -m pytest -n $(JOBS) --dist loadfile --nbval-lax --nbval-current-env \
	    --durations=15 tests book; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: the suite must not be empty"; exit 1; fi; \
	exit $$rc

unit: $(STAMP)
	$(BIN)/python -m pytest -n $(JOBS) tests

# Deliberately re-record the regression baseline of the quick preset's claims.
baseline: $(STAMP)
	rm -rf _build/claims
	BOOK_PRESET=quick FREQLEARN_BASELINE=off $(BIN)/python -m pytest -n $(JOBS) --dist loadfile \
	    --nbval-lax --nbval-current-env -q book
	$(BIN)/python -c "from freqlearn.claims import main; raise SystemExit(main(['baseline']))"

# MathJax 3 from the npm registry, served by the book itself (pages render offline).
_build/_extra/_static/mathjax/tex-chtml.js:
	rm -rf _build/npm && mkdir -p _build/npm _build/_extra/_static
	cd _build/npm && npm pack -q $(MATHJAX) >/dev/null && tar -xzf mathjax-*.tgz
	rm -rf _build/_extra/_static/mathjax && cp -r _build/npm/package/es5 _build/_extra/_static/mathjax

PRESET := $(or $(BOOK_PRESET),quick)

# The execution cache keys on notebook content, not on BOOK_PRESET: a change of preset
# clears it (and the claims), so a page never shows the other preset's results.
book: $(STAMP) _build/_extra/_static/mathjax/tex-chtml.js
	@if [ -f _build/.preset ] && [ "$$(cat _build/.preset)" != "$(PRESET)" ]; then \
	  echo "preset changed to $(PRESET): clearing the execution cache and claims"; \
	  rm -rf _build/.jupyter_cache _build/jupyter_execute _build/claims _build/benchmarks _build/html; \
	fi; echo "$(PRESET)" > _build/.preset
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "Book built: _build/html/index.html"

# Regenerate the .ipynb twins (no outputs) that the Colab buttons open.
ipynb: $(STAMP)
	$(BIN)/python -c "from freqlearn.booktools import main; raise SystemExit(main(['sync-ipynb']))"

# Build, then screenshot three pages with headless Chromium (Debian's package).
check-html: book
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)
	$(BIN)/python -c "from freqlearn.booktools import main; raise SystemExit(main(['screenshots', '_build/screenshots']))"

lint: $(STAMP)
	$(BIN)/ruff check lib tests conftest.py book/_ext

clean:
	rm -rf _build
