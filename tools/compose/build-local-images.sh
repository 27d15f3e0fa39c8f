#!/usr/bin/env bash
# Builds every image docker-compose.local.yml needs, from Debian packages only (no image registry needed):
#
#   gblm-base:bookworm       a Debian bookworm root filesystem (debootstrap --variant=minbase), `docker import`ed
#   gblm-jre:17              + openjdk-17-jre-headless (deploy/compose/jre.Dockerfile)
#   gblm-prometheus:local    + Debian's prometheus package (deploy/compose/prometheus.Dockerfile)
#   gblm:local               the repository's Dockerfile with --build-arg BASE=gblm-jre:17 (needs target/gblm.jar)
#
# Idempotent: an existing gblm-base:bookworm is reused (REBUILD_BASE=1 makes it again); the others are rebuilt
# with Docker's layer cache, so a second run takes seconds. Needs root (debootstrap) and a running Docker engine.
# The Debian mirror: DEBIAN_MIRROR, default the first deb.debian.org-style URI of this machine's apt sources.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

mirror() {
  if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
  local m
  m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
      | grep -vE '^[[:space:]]*#' | grep -oE 'https?://[^ ]+/debian/?' | grep -v security | head -n1 || true)
  echo "${m:-http://deb.debian.org/debian}"
}

if ! docker image inspect gblm-base:bookworm >/dev/null 2>&1 || [ "${REBUILD_BASE:-0}" = 1 ]; then
  command -v debootstrap >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap; }
  dir=$(mktemp -d /tmp/gblm-rootfs.XXXXXX)
  trap 'rm -rf "$dir"' EXIT
  log "debootstrap bookworm from $(mirror) (about 1-2 min)"
  debootstrap --variant=minbase bookworm "$dir" "$(mirror)" >/tmp/gblm-debootstrap.log 2>&1 \
    || { tail -n 20 /tmp/gblm-debootstrap.log >&2; exit 1; }
  # apt inside the image uses the same mirror; no caches in the image
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
  tar -C "$dir" -c . | docker import -c 'CMD ["/bin/bash"]' - gblm-base:bookworm >/dev/null
  rm -rf "$dir"; trap - EXIT
  log "imported gblm-base:bookworm"
else
  log "gblm-base:bookworm exists (REBUILD_BASE=1 to make it again)"
fi

# --network host: apt inside the build reaches the mirror the way this host does (proxies, DNS, no bridge NAT)
log "building gblm-jre:17"
docker build -q --network host -t gblm-jre:17 -f deploy/compose/jre.Dockerfile deploy/compose >/dev/null
log "building gblm-prometheus:local"
docker build -q --network host -t gblm-prometheus:local -f deploy/compose/prometheus.Dockerfile deploy/compose >/dev/null

[ -f target/gblm.jar ] && [ -d target/lib ] || { echo "target/gblm.jar or target/lib/ missing: run mvn -B -ntp -DskipTests package first" >&2; exit 1; }
log "building gblm:local (BASE=gblm-jre:17)"
docker build -q --network host --build-arg BASE=gblm-jre:17 -t gblm:local . >/dev/null
log "images ready: $(docker images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E '^gblm' | tr '\n' ' ')"
