# Two commands for a newcomer: `make run` and `make test`. Both build .venv themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DATA   ?= ./data
UNPIC  := .cache/unpic/node_modules/unpic/package.json
NGINX_PURGE := /usr/lib/nginx/modules/ngx_http_cache_purge_module.so
# docker-compose's nginx.conf; tests/test_nginx_config.py holds the file to this command.
COMPOSE_NGINX := nginx-config --listen 0.0.0.0:80 --upstream origin:8080 \
	--cache-dir /var/cache/imgorigin --purge-allow 172.28.1.0/24 --user www-data

.PHONY: run test lint bench bench-peers docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

## run: serve on embedded defaults (PostgreSQL from pgserver, files under ./data)
run: $(STAMP)
	$(BIN)/imgorigin serve --data-dir $(DATA) --demo

## test: lint, type-check and the whole suite against real services
test: $(STAMP) $(UNPIC) $(NGINX_PURGE) lint
	$(BIN)/pytest

# nginx with the cache-purge module, for the tests that put it in front of the origin.
$(NGINX_PURGE):
	nginx/install-debian.sh || echo "nginx not installed: its tests are skipped (CI fails them)"

# The unpic npm package, for the test that renders the URLs its imgix provider makes.
$(UNPIC):
	command -v npm >/dev/null && npm install --prefix .cache/unpic --no-audit --no-fund unpic@4 \
		|| echo "npm not installed: the unpic test is skipped"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy origin cache storage catalog admin_api imgorigin

## bench: the suites of issues #8 and #17 (cold renders, herd, hits, memory, soak), as ratios measured in one run
# wrk generates the hit load when installed (a Python client caps near 4000 req/s);
# without it the bench falls back to its aiohttp client and says so. Needs Redis.
# BENCH_ROUNDS (15), BENCH_SECONDS (4) and BENCH_SOAK_SECONDS (180) shorten it; about
# 10 minutes on 2 cores. Real photos come from ../shared/corpus/photos when present.
bench: $(STAMP) $(NGINX_PURGE)
	command -v wrk >/dev/null || (apt-get install -y wrk || (apt-get update && apt-get install -y wrk)) \
		|| echo "wrk not installed: the bench uses its aiohttp client"
	$(BIN)/python -m bench

## bench-peers: thumbor (PyPI) and ipx (npm) on the cold-render workloads beside the origin
# Both are installed under $${XDG_CACHE_HOME:-~/.cache}/imgorigin-bench-peers, not in the repo.
bench-peers: $(STAMP)
	$(BIN)/python -m bench.peers

## docs: rewrite the settings table in README.md and docker-compose's nginx.conf from the code
docs: $(STAMP)
	$(BIN)/imgorigin settings --markdown --write README.md
	$(BIN)/imgorigin $(COMPOSE_NGINX) > nginx/nginx.conf

clean:
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache
