# Leakwatch: `make demo` (everything, on the sandbox) and `make test`. Python 3.11 + uv, committed uv.lock.
SHELL := /bin/bash
UV ?= $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")
RUN := $(UV) run --frozen
PRESET ?= demo
SEED ?= 7
# Every process (each `leakwatch` call, dbt's subprocess, pytest workers) imports dagster, dbt, dlt and GX: with
# bytecode compiled at install (--compile-bytecode) and Python allowed to cache ours, an import costs half the CPU.
# Some images set PYTHONDONTWRITEBYTECODE=1, which made every process recompile ~14k modules from source.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: setup chromium demo test lint docs dq-docs bench bench-small clean sandbox-stop

setup: ## Install uv if missing, the locked environment, and the dbt manifest Dagster needs
	@command -v uv >/dev/null 2>&1 || test -x "$(UV)" || python3 -m pip install --quiet uv || python3 -m pip install --quiet --user uv
	$(UV) sync --frozen --compile-bytecode
	cd dbt_project && LEAKWATCH_WAREHOUSE=../var/warehouse.duckdb $(RUN) dbt parse --quiet --profiles-dir .

demo: setup ## Sandbox + full pipeline + publish, then where to look
	$(RUN) leakwatch sandbox generate --preset $(PRESET) --seed $(SEED)
	$(RUN) leakwatch sandbox serve --background
	$(RUN) leakwatch run
	$(RUN) leakwatch verify
	@echo
	@echo "Leakwatch demo is ready."
	@echo "  serving DB (read-only, SQL):  var/serving.duckdb   e.g. uv run python -c \"import duckdb; print(duckdb.connect('var/serving.duckdb', read_only=True).sql('select * from marts.kpis limit 10'))\""
	@echo "  dashboard:                    uv run leakwatch dashboard     -> http://127.0.0.1:8501"
	@echo "  Dagster UI (schedule on):     uv run leakwatch ui            -> http://127.0.0.1:3000"
	@echo "  sandbox emulators:            running in the background (make sandbox-stop to stop them)"

chromium: ## Debian's chromium for the dashboard browser test (Playwright's own download cannot work here)
	@command -v chromium >/dev/null 2>&1 || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

test: setup chromium ## The whole test suite (unit, dbt, end-to-end on the tiny preset, dashboard in chromium)
	$(RUN) pytest -q -n 2 --dist loadscope $(PYTEST_ARGS)

lint: setup ## ruff + sqlfluff (duckdb dialect, dbt templater)
	$(RUN) ruff check .
	mkdir -p var && LEAKWATCH_WAREHOUSE=$(CURDIR)/var/warehouse.duckdb $(RUN) sqlfluff lint dbt_project/models

docs: setup ## dbt docs (catalog needs a built warehouse: run `make demo` first)
	cd dbt_project && LEAKWATCH_WAREHOUSE=../var/warehouse.duckdb $(RUN) dbt docs generate --profiles-dir .

dq-docs: setup ## Great Expectations Data Docs of the data-completeness checks (after a run)
	$(RUN) leakwatch dq-docs

bench: setup ## Benchmarks (not part of make test); results in bench/results/
	$(RUN) python bench/sandbox_generation.py tiny small demo large
	$(RUN) python bench/emulator_throughput.py demo
	$(RUN) python bench/dashboard_render.py

bench-small: setup ## Quick benchmark variant (< 3 min)
	$(RUN) python bench/sandbox_generation.py tiny small
	$(RUN) python bench/emulator_throughput.py small

sandbox-stop: ## Stop emulators started with `leakwatch sandbox serve --background`
	@test -f var/sandbox/emulators.pid && kill "$$(cat var/sandbox/emulators.pid)" && rm var/sandbox/emulators.pid || echo "no background emulators"

clean:
	rm -rf var dbt_project/target dbt_project/logs
