# Yaritori: the two commands a new user needs are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8000

.PHONY: run test install lint typecheck check clean-demo messages services browser

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

# The demo world and the benchmarks are development apps (settings.YARITORI_DEMO): on here.
export YARITORI_DEMO := 1

## run: migrate, load the demo world if the database is empty, start web, sequencer, worker
## and beat (honcho, Procfile); Ctrl-C stops them all.
run: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo --if-empty --traffic 14
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py demo_banner --port $(PORT)
	@# Plain http on 127.0.0.1: cookies without the Secure flag (docs/security.md).
	DJANGO_SECURE_COOKIES=$${DJANGO_SECURE_COOKIES:-0} PATH="$(CURDIR)/$(BIN):$$PATH" WEB_PORT=$(PORT) \
		exec $(BIN)/honcho -f Procfile start

## test: the whole suite (SQLite by default; DATABASE_URL switches to PostgreSQL).
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## services: PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379 for the tests and the
## real-services mode, installed from Debian's packages when missing (a no-op when both answer).
services:
	scripts/services.sh postgres redis

## browser: Debian's chromium for the browser tests.
browser:
	scripts/services.sh chromium

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy .

check: lint typecheck test

## messages: refresh the Japanese catalogue from the sources and compile it (needs gettext;
## the compiled .mo is committed so that `make run` does not).
messages: $(STAMP)
	$(BIN)/python manage.py makemessages -l ja --ignore=var --ignore=tests --ignore=deploy --no-obsolete
	$(BIN)/python manage.py compilemessages -l ja --ignore=.venv

clean-demo:
	rm -rf var/yaritori.sqlite3* var/celery var/mail
