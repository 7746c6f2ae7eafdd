# hookarr in a container, linuxserver.io style: one volume (/config) holds the database and hookarr.yaml,
# PUID/PGID choose the user that owns it, TZ the time zone, port 9494.
#
#   docker build -t hookarr .
#   docker run -d --name hookarr -p 9494:9494 -v ./hookarr-config:/config -e PUID=1000 -e PGID=1000 hookarr
#   docker logs hookarr        # the admin key and Connect URLs of the first start
#
# See contrib/docker/docker-compose.yml for hookarr beside Radarr, Sonarr and Jellyfin.

FROM rust:1.94-slim-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# What the build reads: the manifest (its bench and test targets must exist), the code, the admin page's
# templates (askama.toml names their folder), the migrations, the destinations' templates and the Tautulli
# templates the Sources page shows. tests/it/container_build.rs builds from exactly these in CI.
COPY Cargo.toml Cargo.lock askama.toml ./
COPY src src
COPY migrations migrations
COPY templates templates
COPY docs/tautulli docs/tautulli
COPY benches benches
COPY tests tests
# The release profile strips the binary.
RUN cargo build --release --locked --bin hookarr

FROM debian:bookworm-slim
# tzdata for TZ; ca-certificates for HTTPS targets (Discord, Slack…); setpriv (util-linux) drops to PUID/PGID.
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/hookarr /usr/local/bin/hookarr
COPY contrib/docker/entrypoint.sh /usr/local/bin/hookarr-entrypoint
COPY contrib/docker/healthcheck.sh /usr/local/bin/hookarr-healthcheck
ENV HOOKARR_DATA_DIR=/config \
    PUID=1000 \
    PGID=1000 \
    TZ=Etc/UTC
VOLUME /config
EXPOSE 9494
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["hookarr-healthcheck"]
ENTRYPOINT ["hookarr-entrypoint"]
CMD ["hookarr", "serve"]
