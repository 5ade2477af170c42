# The two commands a newcomer needs:  make run   ·   make test
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000

.PHONY: run test install bench load lint clean

# Runtime packages for `make run`; the test tools on top for `make test`. Each step reruns only
# when its requirements file changes.
$(VENV)/.installed-run: requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed-run requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

install: $(VENV)/.installed-dev

## make run: install, migrate, load demo data and metrics (first time only), serve on 127.0.0.1:$(PORT)
run: $(VENV)/.installed-run
	$(PY) manage.py migrate --noinput -v 0
	$(PY) manage.py demo_setup --port $(PORT)
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

## make test: the whole suite on the embedded default (SQLite, Celery in-process)
test: install
	$(PY) -m pytest -m "not celery_worker" -q

## make bench: the benchmarks on PostgreSQL (see BENCHMARKS.md); BENCH_ARGS="--scales 1000" for a quick run
bench: install
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-bench.txt
	$(PY) bench/run.py $(BENCH_ARGS)

## make load: 20 clients for 60 s against gunicorn (production settings) at 10,000 accounts; LOAD_ARGS="--clients 5 --seconds 10"
load: install
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-bench.txt
	$(PY) bench/load.py $(LOAD_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* staticfiles
