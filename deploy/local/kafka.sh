#!/usr/bin/env bash
# Local single-node Kafka (KRaft) broker for tests, assembled from Maven Central jars.
#
#   deploy/local/kafka.sh fetch    download runtime jars (only if target/lib is missing/empty/stale)
#   deploy/local/kafka.sh start    format storage (once) and start the broker; no-op if running
#   deploy/local/kafka.sh stop     SIGTERM by pid, wait <=30 s, then SIGKILL
#   deploy/local/kafka.sh kill9    SIGKILL by pid, keep data (next `start` recovers the same data)
#   deploy/local/kafka.sh reset    stop and wipe the data dir
#   deploy/local/kafka.sh status   print state; exit 0 if running, 3 if not
#
# Env: HHPU_RUN_DIR (default <repo>/.run), HHPU_KAFKA_PORT (19092),
#      HHPU_KAFKA_CONTROLLER_PORT (19093), HHPU_KAFKA_START_TIMEOUT (90),
#      HHPU_KAFKA_STOP_TIMEOUT (30), HHPU_KAFKA_JVM_OPTS, HHPU_KAFKA_CLUSTER_ID.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SCRIPT_DIR/../.." && pwd)"
KDIR="$SCRIPT_DIR/kafka"
POM="$KDIR/pom.xml"
KLIB="$KDIR/target/lib"
STAMP="$KLIB/.pom.sha256"

RUN="${HHPU_RUN_DIR:-$REPO/.run}/kafka"
DATA="$RUN/data"
PIDFILE="$RUN/kafka.pid"
LOG="$RUN/kafka.log"
PROPS="$RUN/server.properties"
LOCK="$RUN/.lock"

PORT="${HHPU_KAFKA_PORT:-19092}"
CPORT="${HHPU_KAFKA_CONTROLLER_PORT:-19093}"
START_TIMEOUT="${HHPU_KAFKA_START_TIMEOUT:-90}"
STOP_TIMEOUT="${HHPU_KAFKA_STOP_TIMEOUT:-30}"
# Any 22-char base64url id; fixed so that re-running `format --ignore-formatted` is a no-op.
CLUSTER_ID="${HHPU_KAFKA_CLUSTER_ID:-4L6g3nShT-eMCtK--X86sw}"
JVM_OPTS="${HHPU_KAFKA_JVM_OPTS:--Xms256m -Xmx768m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true}"
LOG_OPTS="-Dlog4j2.configurationFile=$KDIR/log4j2.properties"

# Log lines that mean the broker finished starting (4.x: BrokerLifecycleManager / KafkaRaftServer).
READY_RE='Transitioning from RECOVERY to RUNNING|Kafka Server started'

die() { echo "kafka.sh: $*" >&2; exit 1; }

need() { command -v "$1" >/dev/null 2>&1 || die "'$1' not found on PATH; $2"; }

lock() {
  mkdir -p "$RUN"
  exec 9>"$LOCK"
  flock -w 180 9 || die "could not take lock $LOCK"
}

# pid of our broker if alive (pidfile present, process alive and really kafka.Kafka), else empty
broker_pid() {
  [[ -s "$PIDFILE" ]] || return 0
  local pid
  pid="$(tr -dc '0-9' <"$PIDFILE")"
  [[ -n "$pid" ]] || return 0
  if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka'; then
    echo "$pid"
  fi
}

port_open() {
  timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

wait_dead() { # pid seconds -> 0 if dead within time
  local pid="$1" deadline=$((SECONDS + $2))
  while kill -0 "$pid" 2>/dev/null; do
    # a zombie counts as dead once all its threads are gone (the JVM's leader thread
    # turns zombie before the other threads finish exiting and release the sockets)
    if [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" == Z ]] &&
      (($(find "/proc/$pid/task" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l) <= 1)); then
      return 0
    fi
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

cmd_fetch() {
  local want=""
  want="$(sha256sum "$POM" | cut -d' ' -f1)"
  if compgen -G "$KLIB/*.jar" >/dev/null && [[ "$(cat "$STAMP" 2>/dev/null)" == "$want" ]]; then
    return 0
  fi
  need mvn "install Maven (e.g. apt-get install -y maven) to download the Kafka jars"
  need java "install a JDK 17+ (e.g. apt-get install -y openjdk-17-jdk-headless)"
  # pom changed (or first run): rebuild from scratch so no jars of an old version linger
  rm -rf "$KLIB"
  echo "kafka.sh: fetching Kafka jars with Maven into ${KLIB#"$REPO"/} ..." >&2
  local mlog
  mlog="$(mktemp)"
  if ! mvn -B -q -f "$POM" package >"$mlog" 2>&1; then
    cat "$mlog" >&2
    rm -f "$mlog"
    die "mvn package failed (output above)"
  fi
  rm -f "$mlog"
  compgen -G "$KLIB/*.jar" >/dev/null || die "mvn ran but $KLIB has no jars"
  echo "$want" >"$STAMP"
}

fail_start() {
  local pid="$1" msg="$2"
  echo "kafka.sh: $msg; last 50 lines of $LOG:" >&2
  tail -n 50 "$LOG" >&2 || true
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
    wait_dead "$pid" 10 || true
  fi
  rm -f "$PIDFILE"
  exit 1
}

wait_ready() { # pid
  local pid="$1" deadline=$((SECONDS + START_TIMEOUT))
  while :; do
    kill -0 "$pid" 2>/dev/null || fail_start "" "broker process $pid exited during startup"
    if grep -Eq "$READY_RE" "$LOG" 2>/dev/null && port_open "$PORT"; then
      return 0
    fi
    ((SECONDS < deadline)) || fail_start "$pid" "broker not ready after ${START_TIMEOUT}s"
    sleep 0.5
  done
}

cmd_start() {
  need java "install a JDK 17+ (e.g. apt-get install -y openjdk-17-jdk-headless)"
  lock
  local pid t0=$SECONDS
  pid="$(broker_pid)"
  if [[ -n "$pid" ]]; then
    port_open "$PORT" || die "broker pid $pid is alive but 127.0.0.1:$PORT is not open (still starting? see $LOG)"
    echo "kafka: already running (pid $pid) at 127.0.0.1:$PORT"
    return 0
  fi
  rm -f "$PIDFILE"
  local _
  for _ in 1 2 3 4 5 6 7 8 9 10; do # give a just-killed broker a moment to release its ports
    port_open "$PORT" || port_open "$CPORT" || break
    sleep 1
  done
  if port_open "$PORT" || port_open "$CPORT"; then
    die "port 127.0.0.1:$PORT or :$CPORT is already in use by another process (not ours: no live pid in $PIDFILE)"
  fi
  cmd_fetch
  mkdir -p "$DATA"
  sed -e "s#@DATA@#$DATA#g" -e "s#@PORT@#$PORT#g" -e "s#@CONTROLLER_PORT@#$CPORT#g" \
    "$KDIR/server.properties" >"$PROPS"

  # Format only a fresh data dir; a formatted one (restart after stop/kill9) is left as is
  # (the check saves a JVM launch; --ignore-formatted is the safety net).
  # shellcheck disable=SC2086
  if [[ ! -f "$DATA/meta.properties" ]] && ! java $JVM_OPTS $LOG_OPTS -cp "$KLIB/*" kafka.tools.StorageTool format \
      -t "$CLUSTER_ID" -c "$PROPS" --ignore-formatted >"$RUN/format.log" 2>&1 9>&-; then
    cat "$RUN/format.log" >&2
    die "storage format failed"
  fi

  if [[ -f "$LOG" ]]; then mv -f "$LOG" "$LOG.1"; fi
  # setsid: own session, so a Ctrl-C in the caller's terminal does not reach the broker.
  # 9>&-: the broker must not inherit the lock fd.
  # shellcheck disable=SC2086
  setsid java $JVM_OPTS $LOG_OPTS -cp "$KLIB/*" kafka.Kafka "$PROPS" \
    </dev/null >"$LOG" 2>&1 9>&- &
  pid=$!
  disown "$pid" 2>/dev/null || true
  echo "$pid" >"$PIDFILE"
  wait_ready "$pid"
  echo "kafka: started (pid $pid) at 127.0.0.1:$PORT in $((SECONDS - t0))s, data ${DATA}"
}

cmd_stop() {
  lock
  local pid
  pid="$(broker_pid)"
  if [[ -z "$pid" ]]; then
    rm -f "$PIDFILE"
    echo "kafka: not running"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_dead "$pid" "$STOP_TIMEOUT"; then
    echo "kafka.sh: pid $pid still alive after ${STOP_TIMEOUT}s, sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    wait_dead "$pid" 10 || die "pid $pid survived SIGKILL"
  fi
  rm -f "$PIDFILE"
  echo "kafka: stopped (pid $pid)"
}

cmd_kill9() {
  lock
  local pid
  pid="$(broker_pid)"
  if [[ -z "$pid" ]]; then
    rm -f "$PIDFILE"
    echo "kafka: not running"
    return 0
  fi
  kill -KILL "$pid" 2>/dev/null || true
  wait_dead "$pid" 10 || die "pid $pid survived SIGKILL"
  rm -f "$PIDFILE"
  echo "kafka: killed with SIGKILL (pid $pid), data kept in $DATA"
}

cmd_reset() {
  cmd_stop >/dev/null
  case "$DATA" in
    */kafka/data) rm -rf "$DATA" "$PROPS" "$LOG" "$LOG.1" "$RUN/format.log" ;;
    *) die "refusing to wipe unexpected path $DATA" ;;
  esac
  echo "kafka: stopped and wiped $DATA"
}

cmd_status() {
  local pid
  pid="$(broker_pid)"
  if [[ -n "$pid" ]]; then
    if port_open "$PORT"; then
      echo "kafka: running (pid $pid) at 127.0.0.1:$PORT"
    else
      echo "kafka: process running (pid $pid) but 127.0.0.1:$PORT not open"
    fi
    return 0
  fi
  echo "kafka: not running"
  return 3
}

case "${1:-}" in
  fetch) cmd_fetch; echo "kafka: jars ready in $KLIB ($(find "$KLIB" -name '*.jar' | wc -l) jars)" ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  kill9) cmd_kill9 ;;
  reset) cmd_reset ;;
  status) cmd_status ;;
  *) echo "usage: $0 {fetch|start|stop|kill9|reset|status}" >&2; exit 2 ;;
esac
