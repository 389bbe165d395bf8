# The book's two commands (see README.md):
#   make book   — set up .venv, execute every changed notebook at the preset (BOOK_PRESET,
#                 default quick), JOBS at a time, and build the HTML book into _build/html;
#                 fails on any error/warning.
#   make test   — set up .venv, run the unit tests and execute every notebook with nbval.
# Both create .venv when it is missing and install what they need into it, at the versions
# locked in constraints.txt (regenerate with `make lock`).
# The verdict targets (README "Verdicts that hold"): `make baseline` records every claim's
# value and its spread across the numerical variants below; `make portability` re-runs the
# notebooks under each variant and fails if a verdict changes or a value leaves its band;
# `make seeds` runs the book for BOOK_SEED = $(SEEDS) and records how many seeds agree;
# `make record-paper NB=...` runs notebooks at the paper preset and records their claims.

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

.PHONY: results venv test unit book baseline portability seeds record-paper lock variant-env ipynb colab-check \
	check-html lint clean help bench

help:
	@echo "make book | test | unit | baseline | portability | seeds | record-paper NB=... |"
	@echo "     lock | ipynb | check-html | lint | clean | bench"

LOCK       := constraints.txt

$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -c $(LOCK) $(TORCH_ARGS) "$(TORCH)"
	$(BIN)/python -m pip install -q -c $(LOCK) -e ".[book,test]"
	touch $(STAMP)

venv: $(STAMP)

# Unit tests + nbval execution of every notebook of _toc.yml (tests/test_book.py checks
# that the notebooks collected are exactly those of the table of contents).
# COLAB_CHECK=chapters adds the cheapest Colab twin of each chapter, run in a Colab-like
# environment (tests/test_colab_env.py; ~3.5 min of one worker plus a one-off environment
# build of several minutes): left out by default to keep `make test` within its time.
COLAB_CHECK ?= off
test: $(STAMP)
	@FREQLEARN_BASELINE=check FREQLEARN_COLAB_CHECK=$(COLAB_CHECK) $(BIN)/python -m pytest -n $(JOBS) --dist loadfile --nbval-lax --nbval-current-env \
	    --durations=15 tests book; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: the suite must not be empty"; exit 1; fi; \
	exit $$rc

unit: $(STAMP)
	$(BIN)/python -m pytest -n $(JOBS) tests

# ------------------------------------------------------------------ verdicts that hold
# The numerical variants: the same code under other CPU kernel choices (MKL's conditional
# numerical reproducibility branch, ATen's CPU capability, OpenBLAS's core type), as other
# x86-64 machines make them. Chaotic training amplifies their rounding differences; the
# drift band of each claim is measured across them (freqlearn.claims, "Portable
# regression"). On some CPUs the first two change nothing (an AMD EPYC runs MKL's AVX2 path
# and the same erf for AVX2 and AVX-512); `generic` (ATen's scalar kernels, OpenBLAS's AVX
# kernels, oneDNN's AVX2 convolutions) perturbs rounding everywhere, so the band sees what
# chaos makes of it.
VARIANTS        := default avx2 compat generic
VARIANT_default :=
VARIANT_avx2    := MKL_CBWR=AVX2 ATEN_CPU_CAPABILITY=avx2 OPENBLAS_CORETYPE=Haswell
VARIANT_compat  := MKL_CBWR=COMPATIBLE
VARIANT_generic := ATEN_CPU_CAPABILITY=default OPENBLAS_CORETYPE=Sandybridge ONEDNN_MAX_CPU_ISA=AVX2
SEEDS           ?= 11 22 33
NB              ?=
NBPATHS         := $(if $(NB),$(addprefix book/,$(addsuffix .md,$(NB))),book)
# With NB=..., `make baseline` and `make seeds` replace only those notebooks' entries.
MERGE           := $(if $(NB),--merge,)
# The claims command line (python -m freqlearn.claims, without runpy's double-import warning)
CLAIMS           = $(BIN)/python -c "import sys; from freqlearn.claims import main; \
	raise SystemExit(main(sys.argv[1:]))"
# Execute the notebooks (all, or NB=...) with nbval; claims go to $$FREQLEARN_CLAIMS_DIR.
RUN_NOTEBOOKS    = $(BIN)/python -m pytest -n $(JOBS) --dist loadfile --nbval-lax \
	--nbval-current-env -q -p no:cacheprovider $(NBPATHS)

# Deliberately re-record the regression baseline of the quick preset: value and spread of
# every claim across the variants (about 3 × the notebook time). Commit the result.
baseline: $(STAMP)
	@rm -rf _build/variants
	@for v in $(VARIANTS); do \
	  echo "== variant $$v: $$($(MAKE) -s --no-print-directory variant-env V=$$v)"; \
	  env $$($(MAKE) -s --no-print-directory variant-env V=$$v) BOOK_PRESET=quick BOOK_SEED= \
	    FREQLEARN_BASELINE=off FREQLEARN_CLAIMS_DIR=$(CURDIR)/_build/variants/$$v \
	    $(RUN_NOTEBOOKS) || exit 1; \
	done
	$(CLAIMS) baseline $(MERGE) $(foreach v,$(VARIANTS),$(v)=_build/variants/$(v))

variant-env:
	@echo $(VARIANT_$(V))

# Re-run the notebooks under every variant and check each against the baseline: fails if
# any verdict differs or any value leaves its drift band (not part of `make test`).
portability: $(STAMP)
	@rm -rf _build/portability; fail=0; \
	for v in $(VARIANTS); do \
	  echo "== variant $$v: $$($(MAKE) -s --no-print-directory variant-env V=$$v)"; \
	  env $$($(MAKE) -s --no-print-directory variant-env V=$$v) BOOK_PRESET=quick BOOK_SEED= \
	    FREQLEARN_BASELINE=off FREQLEARN_CLAIMS_DIR=$(CURDIR)/_build/portability/$$v \
	    $(RUN_NOTEBOOKS) || fail=1; \
	  $(CLAIMS) check _build/portability/$$v || fail=1; \
	done; \
	if [ $$fail -ne 0 ]; then echo "portability: FAILED (see above)"; exit 1; fi; \
	echo "portability: every verdict and value held under $(VARIANTS)"

# Run the book at the quick preset for the default seed and BOOK_SEED = $(SEEDS); record,
# per claim, how many seeds agree (records/seeds/quick.json, shown on the scoreboard).
# Fails when a verdict differs between seeds (the record is written all the same).
seeds: $(STAMP)
	@rm -rf _build/seeds
	@for s in default $(SEEDS); do \
	  echo "== seed $$s"; \
	  if [ $$s = default ]; then seed=; else seed=$$s; fi; \
	  BOOK_PRESET=quick BOOK_SEED=$$seed FREQLEARN_BASELINE=off \
	    FREQLEARN_CLAIMS_DIR=$(CURDIR)/_build/seeds/$$s $(RUN_NOTEBOOKS) || true; \
	done
	$(CLAIMS) seeds $(MERGE) $(foreach s,default $(SEEDS),$(s)=_build/seeds/$(s))

# Run notebooks at the paper preset (NB=pinson2023/cosines ... or all) and record their
# claims with provenance (commit, date, machine, device, wall time) under records/paper/.
# Checkpoints are off while recording, so the wall time is that of a whole run: a run
# restored from an earlier run's checkpoints takes seconds. RECORD_CHECKPOINT=auto resumes
# from them (e.g. after an interruption), and then the recorded wall time is not a run time
# (the record lists what was restored). A paper-preset cell can run for hours on a CPU:
# nbval's default limit of 2000 s per cell is raised to PAPER_CELL_TIMEOUT seconds.
RECORD_CHECKPOINT ?= off
PAPER_CELL_TIMEOUT ?= 86400
record-paper: $(STAMP)
	@rm -rf _build/paper-claims
	BOOK_PRESET=paper FREQLEARN_BASELINE=off FREQLEARN_CHECKPOINT=$(RECORD_CHECKPOINT) \
	  FREQLEARN_CLAIMS_DIR=$(CURDIR)/_build/paper-claims \
	  $(RUN_NOTEBOOKS) --nbval-cell-timeout=$(PAPER_CELL_TIMEOUT) || true
	$(CLAIMS) record _build/paper-claims

# Write README.md's results-at-a-glance table from the committed records (the regression
# baseline, the seeds record, records/paper); `make test` fails when it is out of date.
results: $(STAMP)
	$(CLAIMS) results

# Regenerate the lock: resolve pyproject.toml's ranges in a fresh venv and freeze them.
lock:
	rm -rf _build/lockenv && $(PYTHON) -m venv _build/lockenv
	_build/lockenv/bin/python -m pip install -q $(TORCH_ARGS) "$(TORCH)"
	_build/lockenv/bin/python -m pip install -q -e ".[book,test]"
	{ sed -n '/^#/p' $(LOCK); _build/lockenv/bin/python -m pip freeze --exclude-editable \
	  | sed -E 's/^(torch==[^+]*)\+.*/\1/'; } > $(LOCK).new && mv $(LOCK).new $(LOCK)
	rm -rf _build/lockenv
	@git diff --stat -- $(LOCK) || true

# MathJax 3 from the npm registry, served by the book itself (pages render offline).
_build/_extra/_static/mathjax/tex-chtml.js:
	rm -rf _build/npm && mkdir -p _build/npm _build/_extra/_static
	cd _build/npm && npm pack -q $(MATHJAX) >/dev/null && tar -xzf mathjax-*.tgz
	rm -rf _build/_extra/_static/mathjax && cp -r _build/npm/package/es5 _build/_extra/_static/mathjax

# The execution cache keys on the notebooks' code cells only. `booktools execute` records
# what else the pages depend on (BOOK_PRESET, BOOK_SEED, FREQLEARN_DEVICE, FREQLEARN_BASELINE,
# and hashes of lib/freqlearn, constraints.txt, records/ and tests/baselines) in
# _build/.book-key.json; when one changed it says which and clears the cache, the claims and
# the built pages, so no page shows another preset's, seed's or code's results.
book: $(STAMP) _build/_extra/_static/mathjax/tex-chtml.js
	$(BIN)/python -m freqlearn.booktools execute -j $(JOBS)
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "Book built: _build/html/index.html"

# The site to publish: the book built from a clean execution cache (every notebook runs
# here, now). The publish workflow (.github/workflows/publish.yml) runs this on a version
# tag; .nojekyll keeps _static/ served where the folder is published from a branch instead.
.PHONY: pages
pages:
	rm -rf _build
	$(MAKE) book
	touch _build/html/.nojekyll
	@echo "Site ready to publish: _build/html"

# Regenerate the .ipynb twins (no outputs) that the Colab buttons open.
ipynb: $(STAMP)
	$(BIN)/python -c "from freqlearn.booktools import main; raise SystemExit(main(['sync-ipynb']))"

# Every .ipynb twin run as on Colab (freqlearn.colabcheck): a virtual environment outside
# the checkout with Colab's package versions (tests/colab-versions.txt) and a stand-in
# google.colab ($COLAB_ENV, default ~/.cache/freqlearn/colab; built once), each twin's own
# setup cell installing the package from a throwaway clone at the release tag, from an
# empty folder at the quick preset. NB=pinson2023/explorer runs some; `make test` runs the
# cheapest twin of each chapter (tests/test_colab_env.py). Needs the package index.
colab-check: $(STAMP)
	TORCH="$(TORCH)" TORCH_INDEX="$(TORCH_INDEX)" $(BIN)/python -m freqlearn.colabcheck $(NB)

# Build, then check the pages as a reader sees them in headless Chromium (Debian's package):
# no broken internal link or anchor, no page wider than the window (1280 and 800 px), every
# image loaded, verdict cells readable (WCAG contrast >= 4.5) in light and dark mode; takes
# screenshots and writes report.json into _build/screenshots. Fails when one does not hold.
check-html: book
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)
	$(BIN)/python -m freqlearn.htmlcheck _build/html --out _build/screenshots

# Speed ratios measured in one run on this machine (FFT path vs conv2d, batched trials, the
# NLGP sampler, recorded notebook walls), printed and written to records/bench/<host>.json
# (page "Performance"). torch's default thread count, not the 1 thread exported above.
bench: $(STAMP)
	env -u OMP_NUM_THREADS -u MKL_NUM_THREADS $(BIN)/python -m freqlearn.bench \
	  --out records/bench/$(shell hostname).json

lint: $(STAMP)
	$(BIN)/ruff check lib tests conftest.py book/_ext

clean:
	rm -rf _build
