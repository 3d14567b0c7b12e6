#!/usr/bin/env bash
# Run a real single-node Apache Kafka broker (KRaft, combined broker+controller)
# on loopback for hookbridge's integration tests.
#
# Usage: tests/kafka/broker.sh start|stop|reset|status
#
#   start   Fetch Kafka (first time only), format the data dir (first time
#           only), start the broker in the background and wait until it
#           serves. The LAST line of stdout is the bootstrap address
#           (127.0.0.1:$KAFKA_PORT). Idempotent: if the broker already runs it
#           only waits for it to serve and prints the address.
#   stop    Graceful shutdown (SIGTERM, then SIGKILL after
#           $KAFKA_STOP_TIMEOUT s). KEEPS the data dir: a later start has the
#           same topics and records. Exit 0 if nothing was running.
#   reset   stop, then wipe the data dir.
#   status  Exit 0 if the broker runs and answers a metadata request.
#
# Requirements: bash, java (17+) and mvn (3.8+) on PATH (or $JAVA / $MVN),
# coreutils, util-linux (flock, setsid). The jars come from Maven Central via
# tests/kafka/pom.xml, once; later starts use the cache and no network.
# kcat (Debian package "kcat") is used for the readiness probe when it is on
# PATH; without it the script falls back to Kafka's own
# kafka.admin.BrokerApiVersionsCommand (slower: one JVM per probe).
#
# Environment (defaults in brackets):
#   KAFKA_PORT             PLAINTEXT listener port [9092]
#   KAFKA_CONTROLLER_PORT  CONTROLLER listener port [9093]
#   KAFKA_DATA             data dir: config, KRaft logs, pid, log files
#                          [/tmp/hookbridge-kafka]
#   HOOKBRIDGE_CACHE       cache root [$HOME/.cache/hookbridge]; the jars go to
#                          $HOOKBRIDGE_CACHE/kafka-$KAFKA_VERSION/libs
#   KAFKA_VERSION          org.apache.kafka:kafka_2.13 version [3.9.1]
#   KAFKA_HEAP_OPTS        JVM heap flags [-Xmx512m -Xms256m]
#   KAFKA_START_TIMEOUT    seconds to wait for the broker to serve [90]
#   KAFKA_STOP_TIMEOUT     seconds to wait after SIGTERM before SIGKILL [30]
#   KAFKA_EXTRA_CONFIG     extra server.properties lines, appended verbatim
#   JAVA, MVN              java / mvn executables [java, mvn]
#   MVN_FLAGS              extra mvn arguments, e.g. "-s my-settings.xml"
#
# Files in $KAFKA_DATA: server.properties, log4j.properties, kafka.pid,
# kafka.out (JVM stdout/stderr), logs/server.log (broker log4j output),
# logs/tools.log, kraft/ (log.dirs, incl. meta.properties).

set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
readonly SCRIPT_DIR

KAFKA_VERSION=${KAFKA_VERSION:-3.9.1}
KAFKA_PORT=${KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-9093}
KAFKA_DATA=${KAFKA_DATA:-/tmp/hookbridge-kafka}
KAFKA_DATA=${KAFKA_DATA%/}
KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xmx512m -Xms256m}
KAFKA_START_TIMEOUT=${KAFKA_START_TIMEOUT:-90}
KAFKA_STOP_TIMEOUT=${KAFKA_STOP_TIMEOUT:-30}
KAFKA_EXTRA_CONFIG=${KAFKA_EXTRA_CONFIG:-}
CACHE_ROOT=${HOOKBRIDGE_CACHE:-${HOME:?HOME is not set}/.cache/hookbridge}
CACHE_DIR=$CACHE_ROOT/kafka-$KAFKA_VERSION
LIBS_DIR=$CACHE_DIR/libs
JAVA=${JAVA:-java}
MVN=${MVN:-mvn}
MVN_FLAGS=${MVN_FLAGS:-}

HOST=127.0.0.1
BOOTSTRAP=$HOST:$KAFKA_PORT
PID_FILE=$KAFKA_DATA/kafka.pid
OUT_FILE=$KAFKA_DATA/kafka.out
LOG_DIR=$KAFKA_DATA/logs
KRAFT_DIR=$KAFKA_DATA/kraft
SERVER_PROPS=$KAFKA_DATA/server.properties
LOG4J_PROPS=$KAFKA_DATA/log4j.properties
MARKER=$KAFKA_DATA/.hookbridge-kafka-data
LOCK_FILE=$KAFKA_DATA.lock

log() { printf 'broker.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

validate_env() {
  local v
  for v in KAFKA_PORT KAFKA_CONTROLLER_PORT KAFKA_START_TIMEOUT KAFKA_STOP_TIMEOUT; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a number, got '${!v}'"
  done
  [[ $KAFKA_PORT != "$KAFKA_CONTROLLER_PORT" ]] \
    || die "KAFKA_PORT and KAFKA_CONTROLLER_PORT must differ (both $KAFKA_PORT)"
  [[ $KAFKA_DATA == /* ]] || die "KAFKA_DATA must be an absolute path, got '$KAFKA_DATA'"
  case $KAFKA_DATA in
    / | /tmp | /var | /var/tmp | /home | /root | /usr | /etc | "$HOME")
      die "refusing to use '$KAFKA_DATA' as KAFKA_DATA; pick a dedicated directory" ;;
  esac
}

need_java() {
  command -v "$JAVA" >/dev/null 2>&1 \
    || die "java not found (JAVA=$JAVA); install a JDK/JRE 17+, e.g. 'apt-get install openjdk-17-jre-headless'"
}

need_mvn() {
  command -v "$MVN" >/dev/null 2>&1 \
    || die "mvn not found (MVN=$MVN); install Maven 3.8+, e.g. 'apt-get install maven' (needed once to fetch Kafka into $CACHE_DIR)"
}

# Serialise concurrent invocations on the same data dir.
take_lock() {
  mkdir -p -- "$(dirname -- "$LOCK_FILE")"
  exec 9>>"$LOCK_FILE"
  if command -v flock >/dev/null 2>&1; then
    flock -w $((KAFKA_START_TIMEOUT + KAFKA_STOP_TIMEOUT + 600)) 9 \
      || die "timed out waiting for lock $LOCK_FILE"
  fi
}

# ---------------------------------------------------------------- jar cache --

libs_stamp() {
  # Re-fetch when the version or the pom changes.
  printf '%s %s\n' "$KAFKA_VERSION" "$(cksum <"$SCRIPT_DIR/pom.xml")"
}

libs_ok() {
  [[ -f $CACHE_DIR/.complete && $(cat -- "$CACHE_DIR/.complete") == "$(libs_stamp)" ]] || return 1
  [[ -f $LIBS_DIR/kafka_2.13-$KAFKA_VERSION.jar ]] || return 1
  compgen -G "$LIBS_DIR/reload4j-*.jar" >/dev/null || return 1
  compgen -G "$LIBS_DIR/slf4j-reload4j-*.jar" >/dev/null || return 1
}

fetch_libs() {
  libs_ok && return 0
  mkdir -p -- "$CACHE_DIR"
  exec 8>>"$CACHE_DIR.lock"
  if command -v flock >/dev/null 2>&1; then
    flock -w 900 8 || die "timed out waiting for lock $CACHE_DIR.lock"
  fi
  if libs_ok; then exec 8>&-; return 0; fi

  need_mvn
  log "fetching org.apache.kafka:kafka_2.13:$KAFKA_VERSION and its runtime dependencies with Maven into $LIBS_DIR ..."
  local tmp
  tmp=$(mktemp -d "$CACHE_DIR/fetch.XXXXXX")
  local -a extra=()
  [[ -n $MVN_FLAGS ]] && read -r -a extra <<<"$MVN_FLAGS"
  if ! "$MVN" -B -q -Dstyle.color=never -f "$SCRIPT_DIR/pom.xml" "${extra[@]}" \
      -Dkafka.version="$KAFKA_VERSION" \
      -Dkafka.libs.dir="$tmp/libs" \
      -Dkafka.build.dir="$tmp/target" \
      package >"$tmp/mvn.log" 2>&1; then
    cat -- "$tmp/mvn.log" >&2
    rm -rf -- "$tmp"
    die "mvn failed to fetch Kafka $KAFKA_VERSION from Maven Central (output above)"
  fi
  [[ -f $tmp/libs/kafka_2.13-$KAFKA_VERSION.jar ]] || {
    rm -rf -- "$tmp"
    die "mvn succeeded but kafka_2.13-$KAFKA_VERSION.jar is missing"
  }
  rm -rf -- "$LIBS_DIR" "$CACHE_DIR/.complete"
  mv -- "$tmp/libs" "$LIBS_DIR"
  rm -rf -- "$tmp"
  libs_stamp >"$CACHE_DIR/.complete"
  exec 8>&-
  log "cached $(find "$LIBS_DIR" -name '*.jar' | wc -l) jars in $LIBS_DIR"
}

# Run a Kafka tool class (kafka_2.13 classpath) logging to $LOG_DIR/tools.log.
# Usage: kafka_tool TIMEOUT_SECONDS CLASS ARGS...
kafka_tool() {
  local secs=$1
  shift
  mkdir -p -- "$LOG_DIR"
  [[ -f $LOG4J_PROPS ]] || cp -- "$SCRIPT_DIR/log4j.properties" "$LOG4J_PROPS"
  timeout "$secs" "$JAVA" -Xmx256m -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$LOG4J_PROPS" \
    -Dkafka.logs.dir="$LOG_DIR" -Dkafka.log.file=tools.log \
    -cp "$LIBS_DIR/*" "$@"
}

# ----------------------------------------------------------------- process --

# Prints the broker pid if our broker process is alive, else fails.
broker_pid() {
  [[ -f $PID_FILE ]] || return 1
  local pid cmdline
  pid=$(cat -- "$PID_FILE" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # Guard against a recycled pid: it must be kafka.Kafka on our config.
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmdline == *kafka.Kafka*"$SERVER_PROPS"* ]] || return 1
  printf '%s\n' "$pid"
}

port_open() {
  # shellcheck disable=SC2016  # expanded by the inner bash, on purpose
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$HOST" "$1" 2>/dev/null
}

# A real API round trip: Metadata (kcat) or Metadata+ApiVersions (Kafka tool).
broker_serves() {
  port_open "$KAFKA_PORT" || return 1
  if command -v kcat >/dev/null 2>&1; then
    timeout 10 kcat -b "$BOOTSTRAP" -L -m 5 -q 2>/dev/null | grep -q "broker 1 at"
  else
    # (kafka.tools.ClusterTool in kafka_2.13 is only a shim for the separate
    # kafka-tools artifact; BrokerApiVersionsCommand is self-contained.)
    kafka_tool 30 kafka.admin.BrokerApiVersionsCommand \
      --bootstrap-server "$BOOTSTRAP" 2>/dev/null | grep -q "(id: 1 rack"
  fi
}

show_logs() {
  local f
  for f in "$OUT_FILE" "$LOG_DIR/server.log"; do
    [[ -f $f ]] || continue
    printf '\n===== tail -n 60 %s =====\n' "$f" >&2
    tail -n 60 -- "$f" >&2 || true
  done
}

wait_ready() {
  local deadline=$((SECONDS + KAFKA_START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if ! broker_pid >/dev/null; then
      log "error: the broker process exited during startup"
      show_logs
      exit 1
    fi
    broker_serves && return 0
    sleep 0.5
  done
  log "error: broker did not serve on $BOOTSTRAP within ${KAFKA_START_TIMEOUT}s (data dir $KAFKA_DATA)"
  show_logs
  if [[ ${1:-} == --stop-on-timeout ]]; then
    stop_broker
  fi
  exit 1
}

write_config() {
  cp -- "$SCRIPT_DIR/log4j.properties" "$LOG4J_PROPS"
  cat >"$SERVER_PROPS" <<EOF
# Written by tests/kafka/broker.sh; rewritten on every start.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$BOOTSTRAP
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
log.dirs=$KRAFT_DIR

auto.create.topics.enable=true
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
group.initial.rebalance.delay.ms=0

# Small footprint for a test machine.
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.retention.hours=168
EOF
  if [[ -n $KAFKA_EXTRA_CONFIG ]]; then
    printf '\n# KAFKA_EXTRA_CONFIG\n%s\n' "$KAFKA_EXTRA_CONFIG" >>"$SERVER_PROPS"
  fi
}

random_cluster_id() {
  # 16 random bytes, base64url without padding (Kafka's Uuid format). Avoid
  # a leading '-', which the option parser would take for a flag.
  local id
  while :; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    [[ $id != -* && ${#id} -eq 22 ]] && break
  done
  printf '%s\n' "$id"
}

format_if_needed() {
  [[ -f $KRAFT_DIR/meta.properties ]] && return 0
  local id
  id=$(random_cluster_id)
  log "formatting KRaft storage in $KRAFT_DIR (cluster id $id)"
  kafka_tool 120 kafka.tools.StorageTool format --ignore-formatted \
    -t "$id" -c "$SERVER_PROPS" >&2 \
    || die "kafka.tools.StorageTool format failed (see $LOG_DIR/tools.log)"
}

launch() {
  local -a heap
  read -r -a heap <<<"$KAFKA_HEAP_OPTS"
  : >"$OUT_FILE"
  rm -f -- "$PID_FILE"
  # setsid: own session, so the caller's terminal/pipes/signals don't reach it.
  # fds 8/9 (our flock locks) are closed so the broker does not hold them.
  # The inner shell records its own pid and execs java, so the pid is java's.
  # shellcheck disable=SC2016  # expanded by the inner bash, on purpose
  setsid bash -c 'echo $$ >"$0"; exec nohup "$@"' "$PID_FILE" \
    "$JAVA" "${heap[@]}" -server \
    -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError \
    -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$LOG4J_PROPS" \
    -Dkafka.logs.dir="$LOG_DIR" -Dkafka.log.file=server.log \
    -cp "$LIBS_DIR/*" kafka.Kafka "$SERVER_PROPS" \
    >>"$OUT_FILE" 2>&1 </dev/null 8>&- 9>&- &
  # Wait (briefly) for the pid file.
  local i
  for ((i = 0; i < 50; i++)); do
    [[ -s $PID_FILE ]] && break
    sleep 0.1
  done
  [[ -s $PID_FILE ]] || die "broker process did not start (see $OUT_FILE)"
}

# ---------------------------------------------------------------- commands --

cmd_start() {
  take_lock
  if broker_pid >/dev/null; then
    wait_ready
    printf '%s\n' "$BOOTSTRAP"
    return 0
  fi
  need_java
  if port_open "$KAFKA_PORT"; then
    die "port $KAFKA_PORT on $HOST is in use by another process; set KAFKA_PORT"
  fi
  if port_open "$KAFKA_CONTROLLER_PORT"; then
    die "port $KAFKA_CONTROLLER_PORT on $HOST is in use by another process; set KAFKA_CONTROLLER_PORT"
  fi
  fetch_libs
  mkdir -p -- "$KAFKA_DATA" "$LOG_DIR"
  : >"$MARKER"
  write_config
  format_if_needed
  log "starting Kafka $KAFKA_VERSION on $BOOTSTRAP (data $KAFKA_DATA)"
  launch
  # A broker we launched that never came up is stopped again (data kept), so
  # the next start begins from scratch instead of reusing a wedged process.
  wait_ready --stop-on-timeout
  log "broker up (pid $(cat -- "$PID_FILE"))"
  printf '%s\n' "$BOOTSTRAP"
}

stop_broker() {
  local pid
  if ! pid=$(broker_pid); then
    rm -f -- "$PID_FILE"
    return 0
  fi
  log "stopping broker (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + KAFKA_STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "broker did not exit within ${KAFKA_STOP_TIMEOUT}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f -- "$PID_FILE"
}

cmd_stop() {
  take_lock
  stop_broker
}

cmd_reset() {
  take_lock
  stop_broker
  if [[ -d $KAFKA_DATA ]]; then
    if [[ ! -f $MARKER ]] && [[ -n $(ls -A -- "$KAFKA_DATA") ]]; then
      die "$KAFKA_DATA was not created by this script (no $(basename -- "$MARKER")); not wiping it"
    fi
    rm -rf -- "$KAFKA_DATA"
    log "wiped $KAFKA_DATA"
  fi
}

cmd_status() {
  local pid
  if ! pid=$(broker_pid); then
    echo "stopped"
    return 1
  fi
  if broker_serves; then
    echo "running (pid $pid) on $BOOTSTRAP"
    return 0
  fi
  echo "running (pid $pid) but not serving on $BOOTSTRAP"
  return 1
}

main() {
  if [[ $# -ne 1 ]]; then
    echo "usage: $0 start|stop|reset|status" >&2
    exit 2
  fi
  validate_env
  case $1 in
    start) cmd_start ;;
    stop) cmd_stop ;;
    reset) cmd_reset ;;
    status) cmd_status ;;
    *) echo "usage: $0 start|stop|reset|status" >&2; exit 2 ;;
  esac
}

main "$@"
