# pm4ml container image. Two stages: the first builds wheels for pm4ml (with the portal's
# templates), the ledger, http and fineract connectors and every dependency; the second installs only those wheels (no compiler, no sources, no
# pip cache) and runs as an unprivileged user. Nothing is written outside /data and /tmp, so
# the root filesystem can be mounted read-only (mount a volume or emptyDir on both).
#
#   docker build -t pm4ml .
#   docker run --rm -p 4000:4000 -p 4001:4001 -p 4002:4002 -p 9464:9464 -v pm4ml-data:/data \
#       -e PM4ML_ILP_SECRET=... -e PM4ML_JWS_SIGNING_KEY_PATH=/keys/signing.pem \
#       -e PM4ML_JWS_VERIFICATION_KEYS_DIR=/keys/peers -v ./keys:/keys:ro pm4ml

ARG PYTHON_IMAGE=python:3.12-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY pm4ml ./pm4ml
COPY ui ./ui
COPY connectors/ledger ./connectors/ledger
COPY connectors/http ./connectors/http
COPY connectors/fineract ./connectors/fineract
RUN python -m pip wheel --wheel-dir /wheels . ./connectors/ledger ./connectors/http \
    ./connectors/fineract

FROM ${PYTHON_IMAGE}
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PM4ML_DATA_DIR=/data \
    PM4ML_INBOUND_HOST=0.0.0.0 PM4ML_INBOUND_PORT=4000 \
    PM4ML_OUTBOUND_HOST=0.0.0.0 PM4ML_OUTBOUND_PORT=4001 \
    PM4ML_OPS_HOST=0.0.0.0 PM4ML_OPS_PORT=4002 \
    PM4ML_METRICS_HOST=0.0.0.0 PM4ML_METRICS_PORT=9464
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python -m pip install --no-index --find-links /wheels \
        pm4ml pm4ml-ledger pm4ml-http pm4ml-fineract \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin pm4ml \
    && mkdir /data && chown 10001:10001 /data
USER 10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 4000 4001 4002 9464
ENTRYPOINT ["pm4ml"]
CMD ["serve"]
