#!/usr/bin/env bash
# Runs a real single-node Apache Kafka broker (KRaft, combined broker + controller) on loopback,
# for the end-to-end tests and for local runs.
#
#   scripts/kafka-local.sh start      start (or find running) and print the bootstrap address
#   scripts/kafka-local.sh stop       stop it and wait until it has exited
#   scripts/kafka-local.sh restart    stop, then start (KAFKA_KEEP_DATA=1 to keep the data)
#   scripts/kafka-local.sh status     exit 0 when the broker answers, 1 otherwise
#   scripts/kafka-local.sh address    print the bootstrap address
#   scripts/kafka-local.sh log [N]    print the last N (default 100) lines of the broker log
#   scripts/kafka-local.sh create-topic NAME [PARTITIONS]   create a topic (default 3 partitions)
#   scripts/kafka-local.sh fetch      only fetch the jars into the cache
#
# The jars (org.apache.kafka:kafka_2.13 and its runtime dependencies) are fetched by Maven into
# ${ANCHOR_EVENTS_CACHE:-$HOME/.cache/anchor-events}/kafka-<version>/lib, outside the repository.
#
# Environment:
#   KAFKA_PORT             PLAINTEXT listener port (default 39092)
#   KAFKA_CONTROLLER_PORT  CONTROLLER listener port (default 39093)
#   KAFKA_STATE_DIR        config, data, log and pid file (default <cache>/kafka-state-<port>)
#   KAFKA_KEEP_DATA=1      `start` keeps the data of a previous run (default: wipe it)
#   KAFKA_HEAP_OPTS        JVM heap options (default -Xmx512m -Xms256m)
#   KAFKA_START_TIMEOUT    seconds to wait for the broker to answer (default 60)
#   KAFKA_BOOTSTRAP        create-topic only: use this bootstrap address instead of the local one
#
# Only `start` and `address` write to stdout (the bootstrap address); progress goes to stderr.
set -euo pipefail

KAFKA_VERSION=4.1.1
SCALA_VERSION=2.13
LOG4J_VERSION=2.24.3
SLF4J_VERSION=1.7.36

CACHE_DIR="${ANCHOR_EVENTS_CACHE:-$HOME/.cache/anchor-events}"
KAFKA_HOME_DIR="$CACHE_DIR/kafka-$KAFKA_VERSION"
LIB_DIR="$KAFKA_HOME_DIR/lib"
PORT="${KAFKA_PORT:-39092}"
CPORT="${KAFKA_CONTROLLER_PORT:-39093}"
STATE_DIR="${KAFKA_STATE_DIR:-$CACHE_DIR/kafka-state-$PORT}"
DATA_DIR="$STATE_DIR/data"
PID_FILE="$STATE_DIR/kafka.pid"
LOG_FILE="$STATE_DIR/broker.log"
OUT_FILE="$STATE_DIR/broker.out"
HOST=127.0.0.1
ADDRESS="$HOST:$PORT"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-60}"
HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xmx512m -Xms256m}"

say() { echo "kafka-local: $*" >&2; }
die() { say "$*"; exit 1; }

for port in "$PORT" "$CPORT"; do
  [[ "$port" =~ ^[0-9]+$ ]] && ((port > 0 && port < 65536)) || die "bad port: $port"
done
[[ "$PORT" != "$CPORT" ]] || die "KAFKA_PORT and KAFKA_CONTROLLER_PORT must differ"

# ---- jars --------------------------------------------------------------------------------------

write_pom() {
  mkdir -p "$KAFKA_HOME_DIR"
  cat >"$KAFKA_HOME_DIR/pom.xml.tmp" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by anchor-events scripts/kafka-local.sh; only used to fetch the broker's jars. -->
<project xmlns="http://maven.apache.org/POM/4.0.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 http://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <groupId>anchor-events.local</groupId>
  <artifactId>kafka-local</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_$SCALA_VERSION</artifactId>
      <version>$KAFKA_VERSION</version>
      <scope>runtime</scope>
    </dependency>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka-tools</artifactId>
      <version>$KAFKA_VERSION</version>
      <scope>runtime</scope>
    </dependency>
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-api</artifactId>
      <version>$SLF4J_VERSION</version>
      <scope>runtime</scope>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>$LOG4J_VERSION</version>
      <scope>runtime</scope>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-core</artifactId>
      <version>$LOG4J_VERSION</version>
      <scope>runtime</scope>
    </dependency>
  </dependencies>
</project>
EOF
  mv -f "$KAFKA_HOME_DIR/pom.xml.tmp" "$KAFKA_HOME_DIR/pom.xml"
}

fetch_jars() {
  local stamp="$LIB_DIR/.complete"
  if [[ -f "$stamp" ]] && ls "$LIB_DIR"/kafka_"$SCALA_VERSION"-"$KAFKA_VERSION".jar >/dev/null 2>&1; then
    return 0
  fi
  command -v mvn >/dev/null || die "mvn not found (scripts/install-deps.sh installs maven)"
  command -v java >/dev/null || die "java not found (scripts/install-deps.sh installs openjdk-17)"
  write_pom
  say "fetching Kafka $KAFKA_VERSION jars with Maven into $LIB_DIR"
  rm -rf "$LIB_DIR.tmp"
  if ! mvn -B -q -f "$KAFKA_HOME_DIR/pom.xml" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$LIB_DIR.tmp" >"$KAFKA_HOME_DIR/mvn.log" 2>&1; then
    tail -n 40 "$KAFKA_HOME_DIR/mvn.log" >&2
    die "maven failed (full log: $KAFKA_HOME_DIR/mvn.log)"
  fi
  # Exactly one slf4j binding: the log4j2 one for slf4j 1.7.
  rm -f "$LIB_DIR.tmp"/slf4j-reload4j-*.jar "$LIB_DIR.tmp"/slf4j-log4j12-*.jar \
        "$LIB_DIR.tmp"/log4j-slf4j2-impl-*.jar
  touch "$LIB_DIR.tmp/.complete"
  rm -rf "$LIB_DIR"
  mv "$LIB_DIR.tmp" "$LIB_DIR"
}

# ---- process -----------------------------------------------------------------------------------

# Prints the pid of our running broker, if any (checks that the pid really is our java process).
running_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  local cmdline
  cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
  [[ "$cmdline" == *kafka.Kafka* && "$cmdline" == *"$STATE_DIR/server.properties"* ]] || return 1
  echo "$pid"
}

answers() {
  kcat -b "$ADDRESS" -L -m 3 -X topic.metadata.refresh.interval.ms=-1 >/dev/null 2>&1
}

port_in_use() {
  # bash /dev/tcp connect: succeeds when something listens on the port.
  (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
}

print_log_tail() {
  local n="${1:-60}"
  for f in "$LOG_FILE" "$OUT_FILE"; do
    if [[ -s "$f" ]]; then
      echo "----- last $n lines of $f -----" >&2
      tail -n "$n" "$f" >&2
    fi
  done
}

write_config() {
  cat >"$STATE_DIR/server.properties" <<EOF
# Written by anchor-events scripts/kafka-local.sh
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$CPORT
listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CPORT
advertised.listeners=PLAINTEXT://$HOST:$PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA_DIR
num.partitions=3
default.replication.factor=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.retention.hours=24
EOF
  cat >"$STATE_DIR/log4j2.properties" <<EOF
# Written by anchor-events scripts/kafka-local.sh: the broker logs to broker.log only.
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = $LOG_FILE
appender.file.append = true
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.apache.name = org.apache.kafka
logger.apache.level = INFO
logger.zookeeper.name = org.apache.zookeeper
logger.zookeeper.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
EOF
}

java_opts=(-Djava.awt.headless=true -Dlog4j2.configurationFile="$STATE_DIR/log4j2.properties")

format_storage() {
  local uuid
  uuid="$(java "${java_opts[@]}" -cp "$LIB_DIR/*" kafka.tools.StorageTool random-uuid 2>>"$OUT_FILE" | tail -n 1)"
  [[ -n "$uuid" ]] || { print_log_tail; die "StorageTool random-uuid printed nothing"; }
  if ! java "${java_opts[@]}" -cp "$LIB_DIR/*" kafka.tools.StorageTool format -t "$uuid" \
      -c "$STATE_DIR/server.properties" >>"$OUT_FILE" 2>&1; then
    print_log_tail
    die "StorageTool format failed"
  fi
}

with_lock() {
  mkdir -p "$STATE_DIR"
  exec 9>"$STATE_DIR/.lock"
  flock -w 120 9 || die "could not lock $STATE_DIR/.lock"
}

cmd_start() {
  command -v kcat >/dev/null || die "kcat not found (scripts/install-deps.sh installs it)"
  with_lock
  local pid
  if pid="$(running_pid)"; then
    if wait_ready "$pid"; then
      echo "$ADDRESS"
      return 0
    fi
    die "broker pid $pid is running but does not answer on $ADDRESS"
  fi
  rm -f "$PID_FILE"
  for port in "$PORT" "$CPORT"; do
    if port_in_use "$port"; then
      die "port $HOST:$port is already in use by another process (set KAFKA_PORT / KAFKA_CONTROLLER_PORT)"
    fi
  done
  fetch_jars
  if [[ "${KAFKA_KEEP_DATA:-0}" != "1" ]]; then
    rm -rf "$DATA_DIR"
  fi
  mkdir -p "$DATA_DIR"
  : >"$OUT_FILE"
  : >"$LOG_FILE"
  write_config
  if [[ ! -f "$DATA_DIR/meta.properties" ]]; then
    format_storage
  fi
  say "starting Kafka $KAFKA_VERSION on $ADDRESS (controller $HOST:$CPORT, state $STATE_DIR)"
  # shellcheck disable=SC2086
  setsid java $HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 "${java_opts[@]}" \
    -cp "$LIB_DIR/*" kafka.Kafka "$STATE_DIR/server.properties" \
    </dev/null >>"$OUT_FILE" 2>&1 9>&- &
  pid=$!
  echo "$pid" >"$PID_FILE"
  if ! wait_ready "$pid"; then
    print_log_tail 60
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$PID_FILE"
    if kill -0 "$pid" 2>/dev/null || [[ -d "/proc/$pid" ]]; then
      wait "$pid" 2>/dev/null || true
    fi
    die "broker failed to start on $ADDRESS (log above; state in $STATE_DIR)"
  fi
  say "broker up (pid $pid)"
  echo "$ADDRESS"
}

wait_ready() {
  local pid="$1" deadline=$((SECONDS + START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      say "broker process $pid exited during start-up"
      return 1
    fi
    if answers; then
      return 0
    fi
    sleep 0.5
  done
  return 1
}

cmd_stop() {
  with_lock
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PID_FILE"
    say "not running"
    return 0
  fi
  say "stopping broker pid $pid"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "broker did not stop within 30s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f "$PID_FILE"
  say "stopped"
}

cmd_status() {
  local pid
  if pid="$(running_pid)" && answers; then
    say "running (pid $pid) on $ADDRESS"
    return 0
  fi
  say "not running on $ADDRESS"
  return 1
}

cmd_create_topic() {
  local name="${1:-}" partitions="${2:-3}"
  [[ -n "$name" ]] || die "usage: $0 create-topic NAME [PARTITIONS]"
  [[ "$partitions" =~ ^[0-9]+$ ]] || die "bad partition count: $partitions"
  fetch_jars
  local bootstrap="${KAFKA_BOOTSTRAP:-$ADDRESS}"
  cat >"$KAFKA_HOME_DIR/log4j2-tools.properties" <<EOF
status = warn
appender.err.type = Console
appender.err.name = STDERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = STDERR
EOF
  java -Djava.awt.headless=true -Dlog4j2.configurationFile="$KAFKA_HOME_DIR/log4j2-tools.properties" \
    -Xmx256m -XX:TieredStopAtLevel=1 -cp "$LIB_DIR/*" org.apache.kafka.tools.TopicCommand \
    --bootstrap-server "$bootstrap" --create --if-not-exists --topic "$name" \
    --partitions "$partitions" --replication-factor 1 >&2
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  restart) cmd_stop; cmd_start ;;
  status) cmd_status ;;
  address) echo "$ADDRESS" ;;
  log) print_log_tail "${2:-100}" ;;
  create-topic) shift; cmd_create_topic "$@" ;;
  fetch) fetch_jars; say "jars in $LIB_DIR" ;;
  *) echo "usage: $0 start|stop|restart|status|address|log [N]|create-topic NAME [PARTITIONS]|fetch" >&2; exit 2 ;;
esac
