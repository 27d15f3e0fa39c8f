# Prometheus from Debian's `prometheus` package, for machines without access to an image registry
# (tools/compose/build-local-images.sh builds it as gblm-prometheus:local; docker-compose.local.yml uses it).
# Runs like the official prom/prometheus image: config /etc/prometheus/prometheus.yml, data /prometheus, port 9090.
ARG BASE=gblm-base:bookworm
FROM ${BASE}
RUN set -eux; \
    apt-get update; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus; \
    apt-get clean; rm -rf /var/lib/apt/lists/*; \
    mkdir -p /prometheus; chown nobody:nogroup /prometheus; \
    prometheus --version
USER nobody
EXPOSE 9090
ENTRYPOINT ["/usr/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
