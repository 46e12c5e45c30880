# syntax=docker/dockerfile:1
#
# The multimargin gRPC server.
#
#   docker build -t multimargin .
#   docker run --rm -v multimargin-data:/data --entrypoint multimargin multimargin \
#       principal add /data/principals.toml desk --role operator --all-accounts   # prints a token
#   docker run --rm -p 50051:50051 -v multimargin-data:/data multimargin --demo
#   buf curl --protocol grpc --http2-prior-knowledge -H "authorization: Bearer $TOKEN" \
#       http://127.0.0.1:50051/multimargin.v1.OperatorService/GetEngineStatus
#
# The server listens on all interfaces, so it authenticates every call against
# /data/principals.toml (README "Security"); add --tls-cert/--tls-key (mounted PEM files)
# to serve TLS, and give the health check its flags too, e.g.
#   -e MULTIMARGIN_HEALTH_FLAGS="--tls-ca /data/ca.pem --server-name mm.example"
#
# There is no Docker engine on the development and CI machines, so this file is not
# built there. Its steps are kept identical to the install steps that `make setup`
# (run by .ci/run) proves on every run: the builder's `pip wheel .` is the same PEP 517
# build as the Makefile's `pip install .` — maturin, release profile, Cargo.lock
# enforced (`locked = true` in pyproject.toml) — and the runtime stage installs only
# the resulting wheel, whose Python dependencies come from PyPI. Change them together.

# --- builder: Rust (stable, via rustup) + maturin build of the wheel ------------------
FROM python:3.11-slim-bookworm AS builder

# The rustup installer is piped into sh: a failed download must fail the step.
SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# Unpinned on purpose (hadolint DL3008): bookworm's security updates replace package
# versions, so pinned ones stop resolving; this stage only compiles, nothing of it ships.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*

ENV RUSTUP_HOME=/opt/rustup \
    CARGO_HOME=/opt/cargo \
    PATH=/opt/cargo/bin:$PATH
RUN curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs \
    | sh -s -- -y --no-modify-path --profile minimal --default-toolchain stable

WORKDIR /src
# What the wheel is built from (see .dockerignore): the cargo workspace (core_rs names
# a bench in bench/rust, so cargo wants it present), the Python package, its metadata.
COPY pyproject.toml Cargo.toml Cargo.lock README.md ./
COPY core_rs/ core_rs/
COPY bench/rust/ bench/rust/
COPY server/ server/
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

# --- runtime: the wheel only, as a non-root user ---------------------------------------
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

COPY --from=builder /wheels/ /tmp/wheels/
RUN pip install --no-cache-dir /tmp/wheels/multimargin-*.whl \
    && rm -rf /tmp/wheels

RUN groupadd --system --gid 10001 multimargin \
    && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin multimargin \
    && mkdir /data \
    && chown multimargin:multimargin /data

# Numeric, so that the host and Kubernetes' runAsNonRoot can resolve it (hadolint DL3066).
USER 10001:10001
VOLUME /data
EXPOSE 50051

# `multimargin health` asks the standard gRPC health service: SERVING only once the store
# is recovered, NOT_SERVING while draining; plaintext, or TLS with the flags above.
ENV MULTIMARGIN_HEALTH_FLAGS=""
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["sh", "-c", "multimargin health --target 127.0.0.1:50051 --timeout 3 $MULTIMARGIN_HEALTH_FLAGS"]

# SIGTERM (docker stop) drains calls in flight for up to 5 s, then snapshots and exits
# 0, inside docker's default 10 s stop timeout.
ENTRYPOINT ["multimargin", "serve", "--listen", "0.0.0.0:50051", "--data-dir", "/data", "--auth", "/data/principals.toml"]
