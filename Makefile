# The README and .ci/run call these targets unchanged.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
EVAL   ?= ../shared/eval-data
REPORTS ?= reports

.PHONY: install system-deps frontend-deps docs-assets demo serve test test-fast lint typecheck eval eval-concerns eval-scifact eval-medline eval-cranfield eval-synthetic eval-synthetic-seed11 eval-synthetic-seed23 eval-synthetic-held-out-phrasings eval-apart eval-transcription bench clean

## install: virtual environment with the pinned CPU torch, the package and its dev tools
install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml client/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first and pinned: an unpinned torch pulls gigabytes of CUDA wheels
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	# the typed API client (client/), installable on its own; tested against the real server
	$(BIN)/pip install --quiet -e client
	touch $@

## system-deps: Tesseract (OCR of scanned letters), antiword (legacy .doc) and Chromium (browser tests), from Debian
system-deps:
	@scripts/system-deps.sh

## demo: install, generate the synthetic case file, index it and serve it on :8000, in
## development mode (anyone can sign in as anyone; the pages say so)
demo: install system-deps
	CASESEARCH_DEV_SIGN_IN=true $(BIN)/casesearch demo

serve: install
	$(BIN)/casesearch serve

## test: install everything, lint, type-check and run the whole suite (unit, integration, browser)
test: install system-deps frontend-deps lint typecheck
	$(BIN)/pytest

## frontend-deps: GOV.UK Frontend sources and axe-core for the accessibility tests, and the
## OpenID provider the sign-in tests run (npm)
frontend-deps: app/web/frontend/node_modules/.installed tests/oidc_provider/node_modules/.installed

app/web/frontend/node_modules/.installed: app/web/frontend/package-lock.json
	npm ci --prefix app/web/frontend --ignore-scripts --no-audit --no-fund
	touch $@

tests/oidc_provider/node_modules/.installed: tests/oidc_provider/package-lock.json
	npm ci --prefix tests/oidc_provider --ignore-scripts --no-audit --no-fund
	touch $@

## docs-assets: Swagger UI and ReDoc for /docs and /redoc, copied from npm into
## app/web/static/docs/ with their licences (committed: run after changing their versions)
docs-assets:
	scripts/vendor-docs-assets.sh

test-fast: install
	$(BIN)/pytest -m "not slow and not integration"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy app indexer retrieval connectors evaluation
	# tests in two passes: each test folder has its own conftest module
	MYPYPATH=tests:tests/app $(BIN)/mypy --explicit-package-bases tests/retrieval tests/indexer \
	  tests/app tests/evaluation tests/web tests/test_layering.py tests/test_deploy_files.py \
	  tests/factories.py tests/app_helpers.py tests/store_snapshot.py tests/pg_schema.py tests/qdrant_target.py
	MYPYPATH=tests/connectors $(BIN)/mypy --explicit-package-bases tests/connectors
	$(BIN)/mypy client/casesearch_client
	MYPYPATH=tests:tests/client $(BIN)/mypy --explicit-package-bases tests/client

## eval: the public collections and the synthetic case file; reports under reports/
eval: eval-scifact eval-medline eval-cranfield eval-synthetic eval-synthetic-seed11 \
	eval-synthetic-seed23 eval-synthetic-held-out-phrasings eval-apart eval-concerns

## eval-concerns: the pattern view and the chronology on the synthetic case file, and the
## assertion detector on the NegEx/ConText sentences
eval-concerns: install
	$(PY) -m evaluation.patterns --seed 7 --cases 40 --out $(REPORTS)/patterns.json
	$(PY) -m evaluation.chronology --seed 7 --cases 40 > $(REPORTS)/chronology.json
	$(BIN)/casesearch eval assertion $(EVAL)/context-negex/dev.tsv \
	  --predictions-out $(REPORTS)/assertion/context-negex-dev.predictions.tsv \
	  --report-out $(REPORTS)/assertion/context-negex-dev-all.json

eval-scifact eval-medline eval-cranfield: eval-%: install
	$(BIN)/casesearch eval beir $(EVAL)/$* --mode all \
	  --run-out $(REPORTS)/$*.run --report-out $(REPORTS)/$*.json

## eval-transcription: word error rate, phrase search and cited times on visit notes spoken by
## espeak-ng (three voices, three speeds, clean and noisy) and on real speech (issue 17)
eval-transcription: install system-deps
	$(PY) -m evaluation.transcription --out $(REPORTS)

## eval-apart: the three case files written apart from the generator and the query rules
## (evaluation/data/apart-*/README.md), with their ablation tables
eval-apart: install
	for f in apart-a apart-b apart-c; do \
	  $(BIN)/casesearch eval beir evaluation/data/$$f --mode all --run-out $(REPORTS)/$$f.run \
	    --report-out $(REPORTS)/$$f.json --ablation-out $(REPORTS)/$$f-ablation.json || exit 1; \
	done

eval-synthetic: install
	$(BIN)/casesearch eval synthetic --run-out $(REPORTS)/synthetic.run \
	  --report-out $(REPORTS)/synthetic.json --ablation-out $(REPORTS)/synthetic-ablation.json

# a second case file, generated the same way, kept apart from tuning the query rules
eval-synthetic-seed11: install
	$(BIN)/casesearch eval synthetic --seed 11 --run-out $(REPORTS)/synthetic-seed11.run \
	  --report-out $(REPORTS)/synthetic-seed11.json \
	  --ablation-out $(REPORTS)/synthetic-seed11-ablation.json

# a third, first evaluated after the query rules were last tuned: figures only, never tuning
eval-synthetic-seed23: install
	$(BIN)/casesearch eval synthetic --seed 23 --run-out $(REPORTS)/synthetic-seed23.run \
	  --report-out $(REPORTS)/synthetic-seed23.json \
	  --ablation-out $(REPORTS)/synthetic-seed23-ablation.json

# seed 23's records asked in other words (evaluation/synthetic/queries.py), never tuned on
eval-synthetic-held-out-phrasings: install
	$(BIN)/casesearch eval synthetic --seed 23 --phrasings held-out \
	  --run-out $(REPORTS)/synthetic-seed23-held-out-phrasings.run \
	  --report-out $(REPORTS)/synthetic-seed23-held-out-phrasings.json \
	  --ablation-out $(REPORTS)/synthetic-seed23-held-out-phrasings-ablation.json

## bench: speed and memory benchmarks, JSON under reports/bench/; the scale part's stores are
## kept in SCALE_STORES (1M chunks: make bench SCALE_SIZES=100000,300000,1000000)
SCALE_SIZES ?= 100000,300000
SCALE_STORES ?= /tmp/casesearch-bench-scale
bench: install
	$(PY) -m evaluation.bench --out $(REPORTS)/bench --scale-sizes $(SCALE_SIZES) \
	  --scale-store-dir $(SCALE_STORES)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
