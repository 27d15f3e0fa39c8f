# A Java 17 runtime image from Debian packages, for machines without access to an image registry:
# the BASE of the gblm Dockerfile there (tools/compose/build-local-images.sh builds it as gblm-jre:17).
# BASE: a Debian bookworm root filesystem imported into Docker (gblm-base:bookworm, made with debootstrap).
ARG BASE=gblm-base:bookworm
FROM ${BASE}
RUN set -eux; \
    apt-get update; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openjdk-17-jre-headless ca-certificates; \
    apt-get clean; rm -rf /var/lib/apt/lists/*; \
    java -version
