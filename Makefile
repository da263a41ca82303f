# Guanban: `make run` starts the demo bot, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup run test lint format bench bench-seat-rush chromium model clean

setup: $(STAMP) model

# The intent model is trained once (about 8 s) and cached under LIBBOT_MODEL_DIR; the
# command reuses the cache while the training data is unchanged.
model: $(STAMP)
	@$(PY) -m intents train

$(STAMP): requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] < (3, 11))' || \
	  { echo "Guanban needs Python 3.11 or newer as $(PYTHON) (make PYTHON=python3.11 ...)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $(STAMP)

# Browser tests drive Debian's chromium through Playwright; install it when missing.
chromium:
	@test -x /usr/bin/chromium -a -d /usr/share/fonts/opentype/noto || { \
	  echo "installing Debian chromium and CJK fonts for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; }

run: setup
	$(PY) -m bot demo

test: setup chromium
	$(PY) -m pytest -q

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: setup
	$(PY) -m ruff format .

bench: setup
	$(PY) bench/webhook.py
	$(PY) bench/nlu.py

# The seat-release rush (2–3 minutes, most of it waiting for the release minute): 2000
# readers race for 1000 seats through the webhook; fails on a double booking or a late reply.
bench-seat-rush: setup
	$(PY) bench/seat_rush.py

clean:
	rm -rf $(VENV) instance/*.sqlite3*
