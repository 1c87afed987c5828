# Yaritori: the two commands a new user needs are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8000

.PHONY: run test install lint typecheck check clean-demo messages

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

## run: migrate, load the demo world if the database is empty, start web + worker + beat.
run: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo --if-empty --traffic 14
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	PORT=$(PORT) exec $(BIN)/python -m config.run_all

## test: the whole suite (SQLite by default; DATABASE_URL switches to PostgreSQL).
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

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
