# syntax=docker/dockerfile:1.7
# One image runs every part of Uptimatum: `uptimatum api`, `uptimatum checker` and
# `uptimatum migrate` (the entrypoint is `uptimatum`; the default command is `api`).
# Build: `make image`. The chart runs it as UID 10001 with a read-only root
# filesystem and an emptyDir at /tmp.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: the package and its pinned dependencies, into /opt/venv --------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
# The exact versions the test suite runs against (CPython 3.11 on Linux): the
# runtime dependency closure of pyproject.toml. tests/chart/test_image.py fails when
# a runtime dependency has no pin here; after changing pyproject's dependencies,
# regenerate the list with `.venv/bin/python -m tests.chart.pins`.
COPY <<CONSTRAINTS /src/constraints.txt
aiohappyeyeballs==2.7.1
aiohttp==3.14.5
aiosignal==1.4.0
anyio==4.16.0
apprise==2.3.0
attrs==26.1.0
certifi==2026.10.19.post1
cffi==2.1.1
charset-normalizer==3.5.3
click==8.5.1
cryptography==50.0.2
dnspython==2.9.2
faker==40.63.0
frozenlist==1.8.0
granian==2.8.9
h11==0.16.0
httpcore==1.0.9
httpx==0.28.1
idna==3.20
importlib-metadata==10.2.0
jinja2==3.1.6
lazy-importer==0.1.0
litestar==2.25.0
litestar-htmx==0.5.0
loguru==0.7.3
markdown==3.11.3
markdown-it-py==4.3.0
markupsafe==3.0.4
mdurl==0.1.2
msgspec==0.23.0
multidict==7.2.1
multipart==2.0.1
oauthlib==4.0.1
polyfactory==3.5.0
prometheus-client==0.26.0
propcache==0.5.4
psycopg==3.3.9
psycopg-binary==3.3.9
psycopg-pool==3.3.3
pycparser==3.12
pygments==2.21.0
python-dateutil==4.0.0
pyyaml==6.0.4
requests==2.34.2
requests-oauthlib==2.0.0
rich==15.0.0
rich-click==1.9.9
sniffio==1.3.1
sqlparse==0.6.1
tabulate==0.10.0
typing-extensions==4.16.0
tzdata==2026.6
urllib3==2.8.0
uvloop==0.23.0
yarl==1.25.1
yoyo-migrations==9.0.0
zipp==4.1.2
CONSTRAINTS
WORKDIR /src
COPY pyproject.toml README.md ./
COPY shared/ shared/
COPY services/ services/
# A venv without pip: this stage's pip installs into it (--python), so the final
# stage carries no installer. Every dependency ships a manylinux wheel: no compiler.
RUN python -m venv --without-pip /opt/venv \
 && pip --python /opt/venv/bin/python install --constraint /src/constraints.txt . \
 && pip --python /opt/venv/bin/python check

# --- runtime: the venv, the migrations and a non-root user; nothing else ----------
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="uptimatum" \
      org.opencontainers.image.description="Self-hosted status pages: api, checker and migrations in one image" \
      org.opencontainers.image.licenses="MIT"
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MIGRATIONS_DIR=/app/migrations
# Nothing is installed at run time: drop the base image's installer. The user owns
# no file of the image (the root filesystem is read-only in the chart anyway).
RUN python -m pip uninstall --yes --no-cache-dir pip setuptools wheel \
 && groupadd --system --gid 10001 uptimatum \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin uptimatum
COPY --from=build /opt/venv /opt/venv
COPY migrations/ /app/migrations/
WORKDIR /app
USER 10001:10001
EXPOSE 3000 9100
ENTRYPOINT ["uptimatum"]
CMD ["api"]
