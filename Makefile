# The two commands of the README: `make serve` and `make test`. Each sets up what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# MLflow and Feast, run for real by the tests, in a venv of their own (see its requirements)
SOURCES := .venv-sources
# the browser tests drive Debian's Chromium; Playwright must not download one of its own
CHROMIUM := /usr/bin/chromium
# the Marquez peer's benchmark smoke starts a throwaway PostgreSQL (benchmarks/marquez_lineage.py)
PG_INITDB := /usr/lib/postgresql/15/bin/initdb
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

# the full run's pytest workers: each takes whole test files (its fixtures built once), in the order
# collected, so the long single-test benchmark files start first instead of last
TEST_WORKERS ?= 2

.PHONY: serve test test-fast lint neo4j clean web

# uv installs what pip would (the same resolution, checked against pip's freeze in session 32) in
# seconds instead of minutes; pip stays as the fallback should uv fail to fetch or resolve.
# `install VENV ARGS...`: into that venv, uv first, then pip
install = $(BIN)/uv pip install --quiet --python $(1)/bin/python $(2) || \
	{ $(1)/bin/pip install --quiet --upgrade pip && $(1)/bin/pip install --quiet $(2); }

$(VENV)/.base: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet uv || true
	$(call install,$(VENV),-e .)
	touch $@

$(VENV)/.test: $(VENV)/.base
	$(call install,$(VENV),-e ".[test]")
	touch $@

# uv comes from the main venv, so this waits for its base
$(SOURCES)/.done: tests/sources/requirements.txt $(VENV)/.base
	$(PYTHON) -m venv $(SOURCES)
	$(call install,$(SOURCES),-r tests/sources/requirements.txt)
	touch $@

## Run the service on the embedded store with the demo graph: http://127.0.0.1:8000/ (GraphQL at /graphql)
serve: $(VENV)/.base
	$(BIN)/lkg serve --demo

## Lint, build the Neo4j and Kafka launchers (Maven, cached), then every test — on both stores.
# the two venvs are set up side by side once the base has uv (with pip alone: 149 s one after the
# other on a quiet machine in ci38, ~5 min side by side in ci73; with uv ~25 s in all)
test: $(CHROMIUM) $(PG_INITDB)
	$(MAKE) --jobs=2 --output-sync=target $(VENV)/.test $(SOURCES)/.done
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m tools.neo4j_server build
	$(BIN)/python -m tools.kafka_server build
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

## The inner loop: unit and contract tests on the embedded store only (no Neo4j, no browser).
test-fast: $(VENV)/.test
	$(BIN)/python -m pytest tests/unit tests/contract -m "not neo4j" -q $(PYTEST_ARGS)

# only when missing (apt-get as root, as in CI containers)
$(CHROMIUM):
	apt-get install -y --no-install-recommends chromium || \
	  (apt-get update && apt-get install -y --no-install-recommends chromium)

$(PG_INITDB):
	apt-get install -y --no-install-recommends postgresql-15 || \
	  (apt-get update && apt-get install -y --no-install-recommends postgresql-15)

## Rebuild the web page into api/static (committed) after editing web/src: needs Node and npm.
web:
	cd web && npm ci && npm run build

lint: $(VENV)/.test
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

## Run a local Neo4j 5 in the foreground (no Docker): bolt://127.0.0.1:7687, user neo4j
neo4j: $(VENV)/.base
	$(BIN)/lkg neo4j

clean:
	rm -rf $(VENV) $(SOURCES) neo4j-launcher/target kafka-launcher/target .pytest_cache .ruff_cache
