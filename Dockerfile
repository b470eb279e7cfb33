# The origin: `imgorigin serve`, the public origin on 8080 and the admin API on 8081,
# as a non-root user. Stateless: configure PostgreSQL, Redis and S3 through the
# environment (see docker-compose.yml and the settings table in README.md).
#
#   docker build -t imgorigin .
#
# libvips comes from the pyvips[binary] wheel (pyvips-binary bundles libvips and its
# codecs), so no Debian libvips42 and no compiler: every dependency is a manylinux wheel.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore
RUN python -m venv /opt/venv
# The dependencies first, from pyproject.toml alone, so editing the code does not
# reinstall them.
COPY pyproject.toml /src/
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('/src/pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
 && /opt/venv/bin/pip install --upgrade pip \
 && /opt/venv/bin/pip install -r /tmp/requirements.txt
COPY . /src
# A regular (non-editable) install; the build fails if the installed copy lacks its
# migrations (the top-level migrations/, installed as catalog/migrations). Run from /
# so that `import catalog` finds the installed copy, not /src/catalog.
RUN /opt/venv/bin/pip install --no-deps /src \
 && /opt/venv/bin/pip check \
 && cd / \
 && /opt/venv/bin/python -c 'from catalog.migrate import pending; assert pending(set()), "no migrations"' \
 && /opt/venv/bin/imgorigin --help >/dev/null \
 && /opt/venv/bin/python -c 'import pyvips; print("libvips", pyvips.version(0), pyvips.version(1), pyvips.version(2))'


FROM ${PYTHON_IMAGE}
# jemalloc: libvips allocates and frees large, odd-sized buffers from many threads,
# which fragments glibc's malloc arenas until the resident size only grows.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libjemalloc2 \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s "$(dpkg -L libjemalloc2 | grep '/libjemalloc\.so\.2$')" /usr/local/lib/libjemalloc.so.2 \
 && groupadd --system --gid 10001 imgorigin \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/imgorigin --create-home \
        --shell /usr/sbin/nologin imgorigin
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    LD_PRELOAD=/usr/local/lib/libjemalloc.so.2 \
    MALLOC_ARENA_MAX=2 \
    IMGORIGIN_HOST=0.0.0.0 \
    IMGORIGIN_ORIGIN_PORT=8080 \
    IMGORIGIN_ADMIN_PORT=8081 \
    IMGORIGIN_DATA_DIR=/var/lib/imgorigin
# (MALLOC_ARENA_MAX only matters if LD_PRELOAD is cleared: glibc's malloc then keeps
# two arenas instead of eight per core.)
USER imgorigin
WORKDIR /var/lib/imgorigin
EXPOSE 8080 8081
# Liveness of the origin port; /readyz is the readiness check (PostgreSQL, S3, Redis).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('IMGORIGIN_ORIGIN_PORT', '8080'), timeout=4)" || exit 1
# `serve` without --demo: a worker per CPU the container may use (its cgroup CPU quota,
# e.g. `docker run --cpus 2`); IMGORIGIN_WORKERS or `--workers N` sets the count.
# Other commands run the same way: `docker compose exec origin imgorigin keys create ...`.
# On SIGTERM, requests in flight get IMGORIGIN_RENDER_TIMEOUT + 5 s (25 s by default):
# stop with a longer timeout than Docker's 10 s (compose: stop_grace_period).
ENTRYPOINT ["imgorigin"]
CMD ["serve"]
