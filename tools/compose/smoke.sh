#!/usr/bin/env bash
# Compose smoke test: the whole containerised deployment on one Docker host, with local images only.
#
#   tools/compose/smoke.sh            # as root (installs packages, may start dockerd); about 3-5 min warm
#
# 1. installs what it needs when missing (docker.io, docker compose or docker-compose, debootstrap, curl, jq) and
#    starts dockerd when no engine answers;
# 2. builds target/gblm.jar when missing (mvn), then the images (tools/compose/build-local-images.sh);
# 3. starts docker-compose.yml + docker-compose.local.yml (SMOKE_MODE=kraft: docker-compose.kraft.yml instead)
#    (project gblm-smoke, fresh volumes): broker, topics,
#    worker, finalizer, exporter, the one-shot job submission and sample ingest, Prometheus (no Grafana: see
#    docker-compose.local.yml);
# 4. waits (bounded) for the exported epoch on the exporter's volume, then checks that Prometheus's targets of every
#    gblm service are up (/api/v1/targets);
# 5. restarts the stack (down + up, volumes kept, without the one-shots) and checks that the topics, the job
#    (`gblm job list`) and the consumer offsets survived (offsets: after the restart the worker consumes nothing
#    and the exporter neither rewrites nor replays an epoch: with lost offsets both would start again from the
#    earliest records);
# 6. tears everything down, volumes included (trap; KEEP=1 leaves the stack running for a look).
# Timeouts: EXPORT_TIMEOUT (default 420 s), HEALTH_TIMEOUT (180 s); whole run bounded by the sum of these.
# Prometheus is published on 127.0.0.1:${GBLM_PROMETHEUS_HOST_PORT:-19090} during the test.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"

export COMPOSE_PROJECT_NAME=${COMPOSE_PROJECT_NAME:-gblm-smoke}
export GBLM_JOB_ID=smoke GBLM_STREAM=smoke GBLM_MIN_SAMPLES=128
export GBLM_PROMETHEUS_HOST_PORT=${GBLM_PROMETHEUS_HOST_PORT:-19090}
export GBLM_KAFKA_HOST_PORT=${GBLM_KAFKA_HOST_PORT:-19094}
export GBLM_BASE_IMAGE=gblm-jre:17 GBLM_IMAGE=gblm:local
EXPORT_TIMEOUT=${EXPORT_TIMEOUT:-420}
HEALTH_TIMEOUT=${HEALTH_TIMEOUT:-180}
T0=$(date +%s)
PHASE_T=$T0
TIMINGS=()
log() { printf '[%s +%4ss] %s\n' "$(date -u +%H:%M:%S)" "$(( $(date +%s) - T0 ))" "$*" >&2; }
phase() { local now; now=$(date +%s); TIMINGS+=("$(printf '%-40s %4d s' "$1" $((now - PHASE_T)))"); PHASE_T=$now; log "done: $1"; }
fail() { log "FAIL: $*"; exit 1; }

# ---------------------------------------------------------------- 1. tools and engine
need_apt=()
command -v docker >/dev/null || need_apt+=(docker.io)
command -v debootstrap >/dev/null || need_apt+=(debootstrap)
command -v curl >/dev/null || need_apt+=(curl)
command -v jq >/dev/null || need_apt+=(jq)
if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null; then
  need_apt+=(docker-compose)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_apt[@]}" >/dev/null
fi
if ! docker info >/dev/null 2>&1; then
  log "starting dockerd (log: /var/log/gblm-smoke-dockerd.log)"
  nohup dockerd >/var/log/gblm-smoke-dockerd.log 2>&1 &
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || fail "dockerd did not start; see /var/log/gblm-smoke-dockerd.log"
fi
if docker compose version >/dev/null 2>&1; then DC=(docker compose); else DC=(docker-compose); fi
log "compose: $("${DC[@]}" version 2>/dev/null | head -n1 || true); engine $(docker version -f '{{.Server.Version}}' 2>/dev/null)"
# SMOKE_MODE=local (default): docker-compose.local.yml (`gblm broker`, gblm services in its network namespace);
# SMOKE_MODE=kraft: docker-compose.kraft.yml (Kafka from the gblm image's jars, every service on the network)
SMOKE_MODE=${SMOKE_MODE:-local}
case "$SMOKE_MODE" in local|kraft) ;; *) fail "SMOKE_MODE must be local or kraft" ;; esac
DC+=(-f docker-compose.yml -f "docker-compose.$SMOKE_MODE.yml")
phase "tools + engine"

# ---------------------------------------------------------------- 2. jar and images
if [ ! -f target/gblm.jar ] || [ ! -d target/lib ]; then
  log "target/gblm.jar missing: mvn -B -ntp -DskipTests package"
  mvn -B -ntp -q -DskipTests package
fi
tools/compose/build-local-images.sh
phase "images"

# ---------------------------------------------------------------- 3. the stack
cleanup() {
  rc=$?
  if [ $rc -ne 0 ]; then
    log "logs of the failed run (last 40 lines per service):"
    "${DC[@]}" ps -a >&2 || true
    for s in kafka topics job ingest worker finalizer exporter prometheus; do
      echo "----- $s" >&2; "${DC[@]}" logs --no-color --tail 40 "$s" >&2 2>/dev/null || true
    done
  fi
  if [ "${KEEP:-0}" = 1 ]; then
    log "KEEP=1: stack left running (${DC[*]} down -v to remove)"
  else
    "${DC[@]}" --profile grafana down -v --remove-orphans >/dev/null 2>&1 || "${DC[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
  fi
  printf '\ntimings:\n' >&2; printf '  %s\n' "${TIMINGS[@]}" >&2
  printf '  %-40s %4d s\n' "total" "$(( $(date +%s) - T0 ))" >&2
  [ $rc -eq 0 ] && log "SMOKE TEST PASSED" || log "SMOKE TEST FAILED (exit $rc)"
}
trap cleanup EXIT
"${DC[@]}" down -v --remove-orphans >/dev/null 2>&1 || true   # leftovers of an interrupted run

# static checks of the monitoring configuration (promtool from the Prometheus image; config + every rule file)
[ -f deploy/prometheus/alerts.yml ] || fail "deploy/prometheus/alerts.yml missing (docker-compose.yml mounts it)"
docker run --rm --entrypoint promtool -v "$ROOT/deploy/compose/prometheus.yml:/etc/prometheus/prometheus.yml:ro" \
  -v "$ROOT/deploy/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro" \
  gblm-prometheus:local check config /etc/prometheus/prometheus.yml >&2 \
  || fail "promtool check config (deploy/compose/prometheus.yml + deploy/prometheus/alerts.yml)"
if [ -f deploy/prometheus/alerts_test.yml ]; then   # the alert rules' unit tests, with this Prometheus's promtool
  docker run --rm --entrypoint promtool -v "$ROOT/deploy/prometheus:/p:ro" -w /p gblm-prometheus:local \
    test rules alerts_test.yml >&2 || fail "promtool test rules deploy/prometheus/alerts_test.yml"
fi
if [ -d deploy/grafana/provisioning ] && [ -d deploy/grafana/dashboards ]; then
  log "note: deploy/grafana/ present but NOT run: no Grafana image can be built here (see docker-compose.local.yml)"
  grep -rqs '/var/lib/grafana/dashboards/gblm' deploy/grafana/provisioning \
    || log "WARNING: no dashboard provider in deploy/grafana/provisioning reads /var/lib/grafana/dashboards/gblm (where docker-compose.yml mounts deploy/grafana/dashboards)"
  grep -rqs 'http://prometheus:9090' deploy/grafana/provisioning \
    || log "WARNING: no datasource in deploy/grafana/provisioning points at http://prometheus:9090"
else
  log "note: deploy/grafana/ absent; Grafana is not run here in any case"
fi
phase "promtool checks"
log "starting the stack"
"${DC[@]}" up -d --no-build
phase "stack up (one-shots done)"

for s in topics job ingest; do   # `up -d` returns once the last one-shot has started: wait for its end
  deadline=$(( $(date +%s) + 120 ))
  until [ "$(docker inspect -f '{{.State.Status}}' "$("${DC[@]}" ps -a -q "$s")")" = exited ]; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "one-shot $s still running after 120s"
    sleep 2
  done
  code=$(docker inspect -f '{{.State.ExitCode}}' "$("${DC[@]}" ps -a -q "$s")")
  [ "$code" = 0 ] || fail "one-shot $s exited with $code"
done
"${DC[@]}" logs --no-color --tail 5 ingest >&2

gblm() { "${DC[@]}" exec -T exporter java -jar /opt/gblm/gblm.jar "$@" 2>/dev/null; }
metric() {  # metric SERVICE PORT NAME: the sum of the series of NAME (0 when absent)
  "${DC[@]}" exec -T "$1" bash -c "exec 3<>/dev/tcp/127.0.0.1/$2 && printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3 && cat <&3" \
    | awk -v n="$3" '$1 == n || index($1, n "{") == 1 { s += $NF } END { printf "%d\n", s }'
}
wait_healthy() {
  local deadline=$(( $(date +%s) + HEALTH_TIMEOUT )) s st
  for s in worker finalizer exporter; do
    while :; do
      st=$(docker inspect -f '{{.State.Health.Status}}' "$("${DC[@]}" ps -q "$s")" 2>/dev/null || echo none)
      [ "$st" = healthy ] && break
      [ "$(date +%s)" -lt "$deadline" ] || fail "$s not healthy after ${HEALTH_TIMEOUT}s (status $st)"
      sleep 3
    done
  done
}

# ---------------------------------------------------------------- 4. export and Prometheus
EPOCH=/out/$GBLM_JOB_ID/epoch-1
log "waiting for $EPOCH/_COMPLETE.json on the exporter's volume (at most ${EXPORT_TIMEOUT}s)"
deadline=$(( $(date +%s) + EXPORT_TIMEOUT ))
until "${DC[@]}" exec -T exporter test -f "$EPOCH/_COMPLETE.json" 2>/dev/null; do
  [ "$(date +%s)" -lt "$deadline" ] || fail "no exported epoch after ${EXPORT_TIMEOUT}s"
  sleep 5
done
"${DC[@]}" exec -T exporter ls -l "$EPOCH" >&2
phase "ingest -> exported epoch"

wait_healthy
consumed_before=$(metric worker 9401 gblm_worker_samples_consumed_total)
log "worker consumed $consumed_before samples"
[ "$consumed_before" -ge 128 ] || fail "worker consumed $consumed_before samples, expected >= 128"

check_targets() {
  local deadline=$(( $(date +%s) + 90 )) json bad
  while :; do
    json=$(curl -fsS "http://127.0.0.1:$GBLM_PROMETHEUS_HOST_PORT/api/v1/targets" || echo '{}')
    bad=""
    for j in gblm-worker gblm-finalizer gblm-exporter; do
      h=$(jq -r --arg j "$j" '[.data.activeTargets[]? | select(.labels.job == $j) | .health] | if length == 0 then "absent" else unique | join(",") end' <<<"$json")
      [ "$h" = up ] || bad="$bad $j=$h"
    done
    [ -z "$bad" ] && { jq -r '.data.activeTargets[] | "  \(.labels.job) \(.scrapeUrl) \(.health)"' <<<"$json" >&2; return 0; }
    [ "$(date +%s)" -lt "$deadline" ] || fail "Prometheus targets not up:$bad"
    sleep 5
  done
}
check_targets
rules=$(curl -fsS "http://127.0.0.1:$GBLM_PROMETHEUS_HOST_PORT/api/v1/rules" | jq '[.data.groups[]?.rules[]?] | length')
log "Prometheus: every gblm target up; $rules alert/recording rules loaded"
[ "$rules" -gt 0 ] || fail "Prometheus loaded no rule from deploy/prometheus/alerts.yml"
phase "Prometheus targets up"

# ---------------------------------------------------------------- 5. restart, state kept
jobs_before=$(gblm job list) || fail "gblm job list failed"
topics_before=$(gblm topics check) || fail "gblm topics check failed"
log "jobs: $jobs_before"
grep -q "^$GBLM_JOB_ID " <<<"$jobs_before" || fail "job $GBLM_JOB_ID not listed"

log "restart: down (volumes kept) + up (long-running services only: the one-shots would re-submit and re-ingest)"
"${DC[@]}" down
"${DC[@]}" up -d --no-build kafka topics worker finalizer exporter prometheus
wait_healthy
phase "restart (down + up, healthy)"

# the broker stopped cleanly at `down` (its child Kafka found the clean-shutdown marker: no log recovery)
{ if [ "$SMOKE_MODE" = local ]; then "${DC[@]}" exec -T kafka cat /data/broker.log; else "${DC[@]}" logs --no-color kafka; fi; } \
  | grep 'clean shutdown file was found' >/dev/null \
  && log "broker restarted from a clean shutdown (no log recovery)" \
  || log "WARNING: the broker did not find its clean-shutdown marker (log recovery after the restart)"
jobs_after=$(gblm job list) || fail "gblm job list failed after the restart"
[ "$jobs_after" = "$jobs_before" ] || fail "jobs changed across the restart: before [$jobs_before] after [$jobs_after]"
topics_after=$(gblm topics check) || fail "gblm topics check failed after the restart"
grep -q "calib.$GBLM_STREAM" <<<"$topics_after" || fail "topic calib.$GBLM_STREAM gone after the restart: $topics_after"
[ "$(grep -c . <<<"$topics_after")" -ge "$(grep -c . <<<"$topics_before")" ] || fail "topics lost: before [$topics_before] after [$topics_after]"
"${DC[@]}" exec -T exporter test -f "$EPOCH/_COMPLETE.json" || fail "exported epoch gone after the restart"
# offsets: give the services time to (wrongly) re-consume from the earliest records, then look at their counters
sleep "${OFFSET_SETTLE:-30}"
consumed_after=$(metric worker 9401 gblm_worker_samples_consumed_total)
exported_after=$(metric exporter 9403 gblm_exporter_epochs_exported_total)
existing_after=$(metric exporter 9403 gblm_exporter_epochs_existing_total)
log "after restart: worker consumed $consumed_after, exporter exported $exported_after, replayed-existing $existing_after"
[ "$consumed_after" = 0 ] || fail "worker re-consumed $consumed_after samples after the restart: offsets lost"
[ "$exported_after" = 0 ] && [ "$existing_after" = 0 ] || fail "exporter re-read epochs after the restart: offsets lost"
"${DC[@]}" exec -T exporter test ! -e "/out/$GBLM_JOB_ID/epoch-2" || fail "a second epoch appeared after the restart"
check_targets
phase "state survived restart"
log "topics after restart:"; printf '%s\n' "$topics_after" >&2
