# LeadCRM: `make run` (the app with demo data) and `make test` (the whole suite).
# Both create .venv and install everything on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
PORT   ?= 8000

# Tests talk to the real PostgreSQL and Redis on this machine.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/leadcrm
TEST_REDIS_URL    ?= redis://127.0.0.1:6379/0
PYTEST_ARGS       ?=
# The date-sensitive tests, run again by `make test-clock-ahead` with the clock a year ahead
# (the thread race and model-training tests are left out: slow, and not about dates).
CLOCK_TESTS       ?= tests/leads/nurturing tests/leads/distribution tests/leads/reporting tests/leads/scoring \
                     tests/leads/test_engagement.py tests/leads/test_tasks.py tests/leads/workspace/test_followups.py \
                     tests/leads/common/test_exporting.py tests/leads/common/test_bulk.py tests/leads/management/test_seed_demo.py \
                     tests/leads/enrichment/test_enrichment_service.py tests/test_clock.py \
                     --ignore=tests/leads/distribution/test_concurrency.py --ignore=tests/leads/scoring/predictive/test_predictive.py
CLOCK_SHIFT_DAYS  ?= 365

.PHONY: install run test test-clock-ahead lint bench check clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python bin/devrun.py --port $(PORT)

test: $(STAMP)
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} bin/setup-test.sh
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
	SECRET_KEY=test-only-secret-key-not-for-production-0123456789abcdef \
	ALLOWED_HOSTS='*' SECURE_SSL_REDIRECT=false SESSION_COOKIE_SECURE=false CSRF_COOKIE_SECURE=false \
	SECURE_HSTS_SECONDS=0 STATICFILES_STORAGE=django.contrib.staticfiles.storage.StaticFilesStorage \
	ENRICHMENT_WEBSITE_ENABLED=false \
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# No test may depend on the real calendar: the date-sensitive ones, with the clock moved ahead.
test-clock-ahead:
	LEADCRM_TEST_CLOCK_SHIFT_DAYS=$(CLOCK_SHIFT_DAYS) $(MAKE) test PYTEST_ARGS="-q -m 'not e2e' $(CLOCK_TESTS) $(PYTEST_ARGS)"

# ruff (lint, format), the import-linter contracts of pyproject.toml, and no module over 500 lines.
lint: $(STAMP)
	BIN=$(BIN) bin/lint.sh

bench: $(STAMP)
	$(BIN)/python bench/run.py

check: $(STAMP)
	DEBUG=false SECRET_KEY=$$(openssl rand -hex 32) ALLOWED_HOSTS=crm.example.com \
	$(BIN)/python manage.py check --deploy --fail-level WARNING

clean:
	rm -rf $(VENV) var
