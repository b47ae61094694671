# smsdesk in a container (README "Production", docs/production.md). One image: the web
# (`smsdesk web`, the default command) and the worker (`smsdesk worker`), see compose.yaml.
# Small (Debian slim, no compiler: every dependency comes as a wheel), runs as a user of its
# own, static files collected at build time and served for ever.
#
#   docker build -t smsdesk .
#
# Not built on the machine it was written on (no container engine there): checked with
# hadolint only (tests/ops/test_packaging.py).

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY smsdesk ./smsdesk
RUN python -m venv /opt/smsdesk/venv \
    && /opt/smsdesk/venv/bin/pip install --no-compile ".[postgres]" \
    && SMSDESK_DATA_DIR=/tmp/collect SMSDESK_STATIC_ROOT=/opt/smsdesk/static \
       /opt/smsdesk/venv/bin/smsdesk collectstatic --noinput --verbosity 0

FROM python:3.11-slim-bookworm
# pg_dump and pg_restore for `smsdesk backup` and `restore` (PostgreSQL 15: the client must
# be as new as the server; compose.yaml runs postgres:15)
RUN apt-get update \
    && apt-get install -y --no-install-recommends "postgresql-client-15=15.*" \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 smsdesk \
    && useradd --system --uid 10001 --gid 10001 --groups dialout \
       --home-dir /var/lib/smsdesk --shell /usr/sbin/nologin smsdesk \
    && install -d -m 0700 -o smsdesk -g smsdesk /var/lib/smsdesk
COPY --from=build /opt/smsdesk /opt/smsdesk
ENV PATH=/opt/smsdesk/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    SMSDESK_DATA_DIR=/var/lib/smsdesk \
    SMSDESK_STATIC_ROOT=/opt/smsdesk/static \
    SMSDESK_WEB_HOST=0.0.0.0 \
    SMSDESK_WEB_PORT=8000 \
    SMSDESK_LOG_FORMAT=json \
    SMSDESK_ACCESS_LOG=true
USER 10001
WORKDIR /var/lib/smsdesk
VOLUME ["/var/lib/smsdesk"]
EXPOSE 8000
# /healthz: the process answers (no database); orchestrators wanting more ask /readyz
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["smsdesk", "web"]
