# pm4ml container image. Build: docker build -t pm4ml .
# Stage 1 builds wheels (compilers live only here); stage 2 installs them, nothing else.
FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN python -m pip wheel --no-cache-dir --wheel-dir /wheels . ./connectors/ledger

FROM python:3.11-slim
# Unprivileged fixed uid so Kubernetes runAsNonRoot/runAsUser can match it.
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin pm4ml
COPY --from=build /wheels /wheels
RUN python -m pip install --no-cache-dir --no-index --find-links /wheels pm4ml pm4ml-ledger \
    && rm -rf /wheels
# Nothing is written under / at run time: the database and keys are mounted volumes or
# external services, and Python writes no bytecode, so readOnlyRootFilesystem works.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PM4ML_INBOUND_HOST=0.0.0.0 \
    PM4ML_OUTBOUND_HOST=0.0.0.0 \
    PM4ML_OPS_HOST=0.0.0.0
USER 10001
EXPOSE 4000 4001 4002
ENTRYPOINT ["pm4ml"]
CMD ["serve"]
