# Maestro Conductor (MC) — reference service image. See docs/compose.md.
#
# Build from the repository root with the wheelhouse in place (scripts/prepare-docker.sh does both):
#   docker build -f docker/mc.Dockerfile --build-arg BASE_IMAGE=python:3.11-slim -t cos-pact-e2e/mc:dev .
# No network is needed: Python packages come from wheelhouse/ (pip --no-index).
#
# Everything down to "service-specific" is byte-identical in the three Dockerfiles, so the
# second and third builds reuse those layers from the build cache (and share them on disk).
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}
ENV PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONPATH=/app PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY docker/requirements-service.txt docker/http-probe.sh wheelhouse/ /build/
RUN set -eu; \
    python3 -c 'import sys; assert sys.version_info >= (3, 11), sys.version'; \
    python3 -m venv /opt/venv; \
    /opt/venv/bin/pip install --quiet --no-index --no-cache-dir --disable-pip-version-check \
        --find-links /build -r /build/requirements-service.txt; \
    install -m 0755 /build/http-probe.sh /usr/local/bin/http-probe; \
    rm -rf /build; \
    useradd --system --uid 10001 --user-group --home-dir /app --no-create-home --shell /usr/sbin/nologin app; \
    mkdir -p /app /data /trust; chown app:app /data /trust
WORKDIR /app
USER 10001:10001
COPY seam /app/seam
COPY policy /app/policy
# ---- service-specific ----
COPY conductor /app/conductor
EXPOSE 8700
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=3 CMD ["http-probe", "8700", "/readyz"]
CMD ["python3", "-m", "conductor", "--host", "0.0.0.0", "--port", "8700", "--data-dir", "/data"]
