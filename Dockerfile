# syntax=docker/dockerfile:1
#
# Images for HCC Identity (the IdP) and the employer portal:
#   docker build --target idp    -t hcc-identity .
#   docker build --target portal -t hcc-portal .
# docker-compose.yml builds both. Each runs as the unprivileged user hcc (uid 10001) and has a
# HEALTHCHECK through its own binary (`idp health`, `portal health`).

# ---- build ------------------------------------------------------------------
FROM rust:1.95-bookworm AS builder
# pq-sys links the system libpq.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Only what the build reads (keeps target/ and data/ out of the context transfer).
COPY Cargo.toml Cargo.lock ./
COPY .cargo .cargo
COPY crates crates
# config/default.toml is compiled in (include_str!); the migrations are embedded.
COPY config config
COPY migrations migrations
# The caches make rebuilds incremental; the binaries are copied out of the cached target/.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p idp -p portal \
 && mkdir -p /out \
 && cp target/release/idp target/release/portal /out/

# ---- common runtime -----------------------------------------------------------
FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --no-create-home \
      --home-dir /app --shell /usr/sbin/nologin hcc \
 && mkdir -p /app/data/mail \
 && chown -R hcc:hcc /app/data
WORKDIR /app

# ---- the employer portal --------------------------------------------------------
FROM runtime AS portal
COPY --from=builder /out/portal /usr/local/bin/portal
USER hcc
EXPOSE 8081
# `portal health` asks the configured port's /health/live (the image has no curl).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/portal", "health"]
ENTRYPOINT ["/usr/local/bin/portal"]
CMD ["serve"]

# ---- the IdP (last, so it is also the default target) ----------------------------
FROM runtime AS idp
COPY --from=builder /out/idp /usr/local/bin/idp
COPY config/ /app/config/
USER hcc
EXPOSE 8080
# `idp health` asks the configured port's /health/ready: 200 once migrated, keyed and the
# database answers. The start period covers the migrations of a first start.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["/usr/local/bin/idp", "health"]
ENTRYPOINT ["/usr/local/bin/idp"]
CMD ["serve"]
