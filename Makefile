# Yaritori: the two commands a new user needs are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8000

.PHONY: run test install lock lint typecheck check clean-demo messages services browser

LOCKS  := requirements/build.txt requirements/base.txt requirements/dev.txt

# Everything from the lock files, hashes checked (pip refuses a package that is not pinned
# there); then the project itself, with the locked setuptools and nothing resolved.
$(STAMP): pyproject.toml setup.py $(LOCKS)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/build.txt
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/dev.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

install: $(STAMP)

## lock: refresh the lock files (requirements/*.txt, with hashes) from pyproject.toml's ranges,
## keeping every pin the ranges still allow; `make lock LOCK_ARGS=--upgrade` moves every pin to
## the newest allowed, `LOCK_ARGS="--upgrade-package django"` one. For CPython 3.11 on Linux
## (CI's and the image's); resolved from the public index only, whatever pip.conf says here.
PIP_COMPILE = env -u PIP_FIND_LINKS -u PIP_EXTRA_INDEX_URL -u PIP_INDEX_URL -u PIP_CONSTRAINT \
	PIP_CONFIG_FILE=/dev/null CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet \
	--generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links \
	$(LOCK_ARGS)
lock: $(STAMP)
	@$(BIN)/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
		|| { echo "make lock: needs Python 3.11, what CI and deploy/Dockerfile run" >&2; exit 1; }
	$(PIP_COMPILE) -o requirements/build.txt requirements/build.in
	$(PIP_COMPILE) --extra dev -c requirements/build.txt -o requirements/dev.txt pyproject.toml
	@# Production: the same versions as the development lock, without the development tools.
	$(PIP_COMPILE) -c requirements/dev.txt -o requirements/base.txt pyproject.toml

# The demo world and the benchmarks are development apps (settings.YARITORI_DEMO): on here.
export YARITORI_DEMO := 1

## run: migrate, load the demo world if the database is empty, start web, sequencer, worker
## and beat (honcho, Procfile); Ctrl-C stops them all.
run: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo --if-empty --traffic 14
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py demo_banner --port $(PORT)
	@# Plain http on 127.0.0.1: cookies without the Secure flag (docs/security.md); logs as
	@# readable text, not production's JSON lines (config/logging_json.py).
	DJANGO_SECURE_COOKIES=$${DJANGO_SECURE_COOKIES:-0} LOG_FORMAT=$${LOG_FORMAT:-text} \
		PATH="$(CURDIR)/$(BIN):$$PATH" WEB_PORT=$(PORT) \
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
