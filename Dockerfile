# Sky-High Memes: one binary in a small Debian image.
#
#   docker build -t skyhigh .                          # compiles inside Docker (the `runtime` target)
#   docker run -p 8080:8080 -v skyhigh-data:/data skyhigh
#
#   # package a binary built on the host instead (CI, CodeBuild, scripts/container-test):
#   mkdir -p ctx && cp target/release/skyhigh ctx/
#   docker build -f Dockerfile --target runtime-prebuilt -t skyhigh ctx
#
# Layout, and why it is in this order:
# - `runtime-base` and `runtime-prebuilt` come BEFORE the `FROM rust…` stage. Docker's classic
#   builder builds every stage that precedes --target, so `--target runtime-prebuilt` never
#   touches the Rust image (and works where no image registry is reachable, FROM a local base
#   image: `--build-arg RUNTIME_BASE=skyhigh-base:bookworm`).
# - There is deliberately no `# syntax=` line: it would make BuildKit pull a frontend image.
# - The full build (`runtime`, the default target) needs the Rust image and crates.io, and an
#   image builder that skips unused stages (BuildKit, Docker's default since 23.0): the classic
#   builder would also build `runtime-prebuilt`, whose binary is not in the repository.
# - The binary embeds fonts, templates, static files and migrations, so the runtime stages hold
#   the binary, CA certificates (the AWS SDK's and SMTP's TLS) and nothing else of the project.

ARG RUNTIME_BASE=debian:bookworm-slim
ARG RUST_IMAGE=rust:1.94-slim-bookworm

# ---------------------------------------------------------------------------------------------
# What both runtime targets share: CA certificates, the data folder, the non-root user and all
# of the image's metadata (inherited by the two stages below).
FROM ${RUNTIME_BASE} AS runtime-base
SHELL ["/bin/sh", "-eu", "-c"]
# The local base made by scripts/container-test already has the certificates (and no network to
# fetch them); debian:bookworm-slim does not. Unpinned on purpose: the version Debian stable
# ships (with its security updates) is the one to have.
# hadolint ignore=DL3008
RUN if [ ! -s /etc/ssl/certs/ca-certificates.crt ]; then \
      apt-get update; \
      apt-get install -y --no-install-recommends ca-certificates; \
      rm -rf /var/lib/apt/lists/*; \
    fi; \
    mkdir -p /data/tmp; \
    chown -R 10001:10001 /data; \
    chmod 0750 /data
# Numeric, so Kubernetes-style "runAsNonRoot" checks can verify it; no passwd entry is needed.
USER 10001:10001
# The app writes only below SKYHIGH_DATA_DIR (SQLite, media, outbox, the upload spool in
# /data/tmp); the root filesystem can be mounted read-only. TMPDIR points SQLite's rare
# temporary files (large sorts) there too.
ENV SKYHIGH_ADDR=0.0.0.0:8080 \
    SKYHIGH_COOKIE_SECURE=true \
    SKYHIGH_DATA_DIR=/data \
    TMPDIR=/data/tmp
VOLUME ["/data"]
EXPOSE 8080
# No curl in the image: the binary checks itself (GET /healthz on its own SKYHIGH_ADDR; exit 0
# on 200). /healthz answers 503 while the backend is unreachable.
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/skyhigh", "healthcheck"]
# SIGTERM: stop accepting, finish in-flight requests, exit 0 (well inside docker stop's 10 s).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/skyhigh"]

# ---------------------------------------------------------------------------------------------
# A binary built on the host, in a build context holding just `skyhigh`.
FROM runtime-base AS runtime-prebuilt
COPY --chown=0:0 skyhigh /usr/local/bin/skyhigh

# ---------------------------------------------------------------------------------------------
# The Rust build. Dependencies compile in their own layer from the manifests alone (with stub
# sources), so editing the code reuses them; only the last RUN compiles the project.
FROM ${RUST_IMAGE} AS builder
WORKDIR /build
COPY Cargo.toml Cargo.lock ./
COPY .cargo .cargo
RUN mkdir -p src benches \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && echo 'fn main() {}' > benches/render.rs \
    && cargo build --release --locked \
    && rm -rf src benches target/release/.fingerprint/skyhigh-* target/release/deps/skyhigh-* \
        target/release/deps/libskyhigh-* target/release/skyhigh*
COPY src src
COPY benches benches
COPY templates templates
COPY static static
COPY fonts fonts
COPY meme-templates meme-templates
COPY migrations migrations
# COPY keeps the files' old timestamps; touching makes sure cargo rebuilds over the stubs.
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked \
    && cp target/release/skyhigh /skyhigh

# ---------------------------------------------------------------------------------------------
# The default target: the binary from the builder.
FROM runtime-base AS runtime
COPY --from=builder /skyhigh /usr/local/bin/skyhigh
