# gblm: one image for every command (worker, finalizer, exporter, ingest, job, topics, broker, run, ...).
#
#   mvn -B -ntp -DskipTests package          # target/gblm.jar + target/lib/ (the image copies them, it does not build)
#   docker build -t gblm:local .             # BASE defaults to the public eclipse-temurin:17-jre
#   docker build --build-arg BASE=gblm-jre:17 -t gblm:local .   # a local JRE image (tools/compose/build-local-images.sh)
#
# BASE: any image with a Java 17+ `java` on PATH, `useradd`/`groupadd` and bash (eclipse-temurin:17-jre,
# a Debian image with openjdk-17-jre-headless, ...). Where no image registry is reachable,
# tools/compose/build-local-images.sh builds one from Debian packages (debootstrap + apt).
#
# Settings: flags, or the environment (flags win):
#   GBLM_BOOTSTRAP_SERVERS   Kafka bootstrap servers (= --bootstrap-servers)
#   GBLM_KAFKA_<KEY>         any Kafka client property, '.' written '_' (GBLM_KAFKA_SASL_MECHANISM = sasl.mechanism)
#   GBLM_METRICS_HOST        address /metrics and /health bind to; 0.0.0.0 here so other containers can scrape them
#   JAVA_TOOL_OPTIONS        JVM options, e.g. -Xmx2g (read by the JVM itself, also by `gblm broker`'s child JVM)
# The entrypoint is the CLI: `docker run --rm gblm:local worker --model /models/m --metrics-port 9400`.
ARG BASE=eclipse-temurin:17-jre
FROM ${BASE}

ARG GBLM_UID=10001
# Writable places of the non-root user, created here so that named volumes mounted on them
# inherit its ownership: /data (broker data), /out (exporter outputs), /var/lib/gblm (finalizer state,
# worker id locks).
RUN set -eux; \
    groupadd --system --gid "${GBLM_UID}" gblm; \
    useradd --system --uid "${GBLM_UID}" --gid gblm --home-dir /home/gblm --create-home --shell /bin/bash gblm; \
    mkdir -p /opt/gblm /data /out /var/lib/gblm/streams /var/lib/gblm/worker-ids; \
    chown -R gblm:gblm /data /out /var/lib/gblm; \
    java -version

# dependencies first: they change less often than the jar (layer cache)
COPY target/lib/ /opt/gblm/lib/
COPY target/gblm.jar /opt/gblm/gblm.jar
# the bundled example model and texts (1 MiB): `gblm demo`, and the compose smoke test's job and ingest
COPY models/ /opt/gblm/models/

ENV GBLM_METRICS_HOST=0.0.0.0 \
    OMP_WAIT_POLICY=PASSIVE \
    HOME=/home/gblm
USER gblm
WORKDIR /home/gblm
EXPOSE 9400
ENTRYPOINT ["java", "-jar", "/opt/gblm/gblm.jar"]
CMD ["--help"]
