# The line's entry points; see SPEC.md "Make targets".
PYTHON ?= python3
PORT ?= 5000
VENV := .venv
STAMP := $(VENV)/.installed

export PORT

.PHONY: install run test bench screenshot clean

install: $(STAMP)

# The stamp makes install idempotent and redoes it when requirements change.
$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $(STAMP)

run: install
	$(VENV)/bin/python -m smsline.run

test: install
	$(VENV)/bin/python -m pytest -q tests

# The README's picture: the browser test's scenario in headless Chromium, on a line in a temporary folder.
screenshot: install
	$(VENV)/bin/python -m tests.test_browser docs/simulator.png

bench: install
	$(VENV)/bin/python bench/alarms.py --n 300,1000,5000 && $(VENV)/bin/python bench/webhook.py

# var/ (the embedded Redis's data) is left alone: it is local data, not a build product.
clean:
	rm -rf $(VENV) .pytest_cache
	find . -name __pycache__ -type d -prune -not -path './.git/*' -exec rm -rf {} +
