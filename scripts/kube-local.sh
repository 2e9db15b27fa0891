#!/usr/bin/env bash
# Runs a real Kubernetes API server (kube-apiserver) with its own etcd on loopback, for the
# operator's tests and for local runs. No kubelet, no scheduler, no controller-manager.
#
#   scripts/kube-local.sh start              start etcd + kube-apiserver (or find them running),
#                                            print the admin kubeconfig path on stdout
#   scripts/kube-local.sh stop               stop the API server, then etcd (etcd data is kept)
#   scripts/kube-local.sh restart-apiserver [--kill]
#                                            restart only the API server (etcd keeps running);
#                                            --kill: SIGKILL instead of a graceful SIGTERM stop
#   scripts/kube-local.sh status             exit 0 when etcd and the API server are ready
#   scripts/kube-local.sh env                print shell exports: eval "$(scripts/kube-local.sh env)"
#   scripts/kube-local.sh kubeconfig         print the admin kubeconfig path
#   scripts/kube-local.sh user-kubeconfig NAME [GROUP...]
#                                            write a kubeconfig for a client-cert user NAME in the
#                                            given groups (for RBAC tests), print its path
#   scripts/kube-local.sh kubectl ARGS...    run the cached kubectl against the local API server
#   scripts/kube-local.sh compact            compact etcd at its current revision (a list at an
#                                            older exact resourceVersion then answers 410 Gone)
#   scripts/kube-local.sh reset              stop, then delete the etcd data (certificates kept)
#   scripts/kube-local.sh log [N]            last N (default 60) lines of the etcd and API server logs
#   scripts/kube-local.sh build              only install packages and build the binaries
#
# Binaries: kube-apiserver, kubectl and etcd are built once from the Go module proxy through a
# generated wrapper module (k8s.io/kubernetes pinned, every k8s.io staging module replaced by the
# same release; etcd at the version k8s.io/kubernetes requires) into
# ${ANCHOR_EVENTS_CACHE:-$HOME/.cache/anchor-events}/kube/k8s-<version>/bin, never in the
# repository. KUBE_LOCAL_ETCD_KIND=debian uses Debian's etcd-server 3.4 instead (no etcd build;
# the API server then turns off the storage features that need etcd >= 3.4.31/3.5.13).
#
# Environment:
#   ANCHOR_EVENTS_CACHE          cache root (default $HOME/.cache/anchor-events)
#   KUBE_LOCAL_PORT              API server secure port on 127.0.0.1 (default 36443)
#   KUBE_LOCAL_ETCD_PORT         etcd client port on 127.0.0.1 (default 32379; peer port is +1)
#   KUBE_LOCAL_ETCD_KIND         source (default: etcd built like the API server) or debian
#   KUBE_LOCAL_STATE_DIR         certs, etcd data, logs, pid files (default <cache>/kube/state-<port>)
#   KUBE_LOCAL_FRESH=1           `start` deletes the etcd data of a previous run first
#   KUBE_LOCAL_START_TIMEOUT     seconds to wait for the API server to be ready (default 120)
#   KUBE_LOCAL_COMPACTION_INTERVAL  API server's --etcd-compaction-interval (default 5m; 0 = never)
#   KUBE_LOCAL_APISERVER_ARGS    extra kube-apiserver flags (word-split), e.g. "--v=4"
#   KUBE_LOCAL_BUILD_JOBS        go build -p for the one-time build (default 1; 2 when CI=true)
#
# Only `start`, `env`, `kubeconfig`, `user-kubeconfig` and `kubectl` write to stdout; progress
# goes to stderr. Everything listens on 127.0.0.1 only.
set -euo pipefail

K8S_VERSION=1.37.2                 # k8s.io/kubernetes v1.37.2 <-> staging modules v0.37.2
STAGING_VERSION="0.${K8S_VERSION#1.}"
MIN_GO=1.26                        # k8s.io/kubernetes v1.37.2's go.mod says go 1.26.0

CACHE_DIR="${ANCHOR_EVENTS_CACHE:-$HOME/.cache/anchor-events}"
KUBE_CACHE="$CACHE_DIR/kube"
BUILD_DIR="$KUBE_CACHE/k8s-v$K8S_VERSION"
BIN_DIR="$BUILD_DIR/bin"
APISERVER_BIN="$BIN_DIR/kube-apiserver"
KUBECTL_BIN="$BIN_DIR/kubectl"

HOST=127.0.0.1
PORT="${KUBE_LOCAL_PORT:-36443}"
ETCD_PORT="${KUBE_LOCAL_ETCD_PORT:-32379}"
ETCD_PEER_PORT=$((ETCD_PORT + 1))
STATE_DIR="${KUBE_LOCAL_STATE_DIR:-$KUBE_CACHE/state-$PORT}"
PKI_DIR="$STATE_DIR/pki"
ETCD_KIND="${KUBE_LOCAL_ETCD_KIND:-source}"
case "$ETCD_KIND" in
  source) ETCD_BIN="$BIN_DIR/etcd" ;;
  debian) ETCD_BIN=/usr/bin/etcd ;;
  *) echo "kube-local: KUBE_LOCAL_ETCD_KIND must be source or debian" >&2; exit 2 ;;
esac
# One data directory per kind: etcd 3.4 data cannot be opened by 3.7 and the other way round.
ETCD_DATA="$STATE_DIR/etcd-data-$ETCD_KIND"
ETCD_PID="$STATE_DIR/etcd.pid"
ETCD_LOG="$STATE_DIR/etcd.log"
API_PID="$STATE_DIR/kube-apiserver.pid"
API_LOG="$STATE_DIR/kube-apiserver.log"
KUBECONFIG_FILE="$STATE_DIR/admin.kubeconfig"
SERVER_URL="https://$HOST:$PORT"
ETCD_URL="http://$HOST:$ETCD_PORT"
START_TIMEOUT="${KUBE_LOCAL_START_TIMEOUT:-120}"
COMPACTION_INTERVAL="${KUBE_LOCAL_COMPACTION_INTERVAL:-5m}"
SERVICE_CIDR=10.0.0.0/24           # only allocated in etcd: nothing routes to it (no kube-proxy)

say() { echo "kube-local: $*" >&2; }
die() { say "$*"; exit 1; }

for port in "$PORT" "$ETCD_PORT" "$ETCD_PEER_PORT"; do
  if ! [[ "$port" =~ ^[0-9]+$ ]] || ((port < 1 || port > 65535)); then die "bad port: $port"; fi
done
((PORT != ETCD_PORT && PORT != ETCD_PEER_PORT)) || die "KUBE_LOCAL_PORT clashes with the etcd ports"

# ---- packages ----------------------------------------------------------------------------------

APT_UPDATED=0
apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  [[ "$(id -u)" == 0 ]] || die "missing Debian packages: ${missing[*]} (run as root, or apt-get install them)"
  if ((APT_UPDATED == 0)); then
    say "apt-get update"
    apt-get update -qq >&2 || die "apt-get update failed"
    APT_UPDATED=1
  fi
  say "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    >/dev/null || die "apt-get install ${missing[*]} failed"
}

ensure_runtime_packages() {
  # Debian's etcd-server ships a systemd unit; this script never starts it (CI has no systemd),
  # and it would listen on the default port 2379, not ours.
  apt_install openssl curl ca-certificates
  if [[ "$ETCD_KIND" == debian ]]; then
    apt_install etcd-server
  fi
}

GO=""
find_go() {
  if [[ -x /usr/local/go/bin/go ]]; then
    GO=/usr/local/go/bin/go
  elif command -v go >/dev/null; then
    GO="$(command -v go)"
  else
    # Not apt-get install golang-go: Debian 12's is Go 1.19, which cannot build this.
    die "no Go found; k8s.io/kubernetes v$K8S_VERSION needs Go >= $MIN_GO at /usr/local/go/bin/go"
  fi
  local v
  v="$("$GO" env GOVERSION 2>/dev/null || true)"
  v="${v#go}"
  if ! printf '%s\n%s\n' "$MIN_GO" "$v" | sort -V -C; then
    die "$GO is Go ${v:-unknown}; k8s.io/kubernetes v$K8S_VERSION needs Go >= $MIN_GO" \
        "(Debian 12's golang-go is 1.19: install Go $MIN_GO+ at /usr/local/go)"
  fi
}

# ---- build -------------------------------------------------------------------------------------

binaries_ok() {
  [[ -f "$BIN_DIR/.complete" && -x "$APISERVER_BIN" && -x "$KUBECTL_BIN" ]] &&
    [[ "$ETCD_KIND" != source || -x "$BIN_DIR/etcd" ]]
}

write_wrapper_module() {
  # The staging modules to pin are read from k8s.io/kubernetes's own go.mod (its replace block
  # points them at ./staging/src/k8s.io/*, which the published module zip does not resolve).
  local src="$BUILD_DIR/src" kmod
  mkdir -p "$src"
  kmod="$(cd "$src" && "$GO" mod download -json "k8s.io/kubernetes@v$K8S_VERSION" \
            | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
  [[ -f "$kmod" ]] || die "could not download k8s.io/kubernetes@v$K8S_VERSION's go.mod"
  local staging
  staging="$(sed -n '/^replace (/,/^)/p' "$kmod" | awk '$2 == "=>" && $3 ~ /^\.\/staging\// {print $1}')"
  [[ -n "$staging" ]] || die "no staging replace block found in $kmod"
  {
    echo "// Generated by anchor-events scripts/kube-local.sh: builds kube-apiserver, kubectl, etcd."
    echo "module anchor-events.local/kube-local-build"
    echo
    echo "go $("$GO" env GOVERSION | sed 's/^go//; s/^\([0-9]*\.[0-9]*\).*/\1/').0"
    echo
    echo "require k8s.io/kubernetes v$K8S_VERSION"
    echo
    echo "replace ("
    local m
    for m in $staging; do
      echo "	$m => $m v$STAGING_VERSION"
    done
    echo ")"
  } >"$src/go.mod"
  rm -f "$src/go.sum"
}

build_binaries() {
  binaries_ok && return 0
  mkdir -p "$KUBE_CACHE"
  exec 8>"$KUBE_CACHE/.build.lock"
  flock -w 3600 8 || die "could not lock $KUBE_CACHE/.build.lock (another build running?)"
  if binaries_ok; then exec 8>&-; return 0; fi
  find_go
  local jobs="${KUBE_LOCAL_BUILD_JOBS:-}"
  if [[ -z "$jobs" ]]; then
    if [[ "${CI:-}" == "true" ]]; then jobs=2; else jobs=1; fi
  fi
  local src="$BUILD_DIR/src" log="$BUILD_DIR/build.log" t0=$SECONDS
  export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-p=$jobs -buildvcs=false"
  mkdir -p "$BUILD_DIR"
  : >"$log"
  if [[ ! -f "$src/.ready" ]]; then
    say "resolving k8s.io/kubernetes v$K8S_VERSION through the Go module proxy (log: $log)"
    write_wrapper_module
    (cd "$src" && "$GO" get -tool k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl \
      && "$GO" get -tool "go.etcd.io/etcd/server/v3@$("$GO" list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)") \
      >>"$log" 2>&1 || { tail -n 30 "$log" >&2; die "go get failed (log: $log)"; }
    touch "$src/.ready"
  fi
  local etcd_version
  etcd_version="$(cd "$src" && "$GO" list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)"
  local pkgs=() names=()
  if [[ ! -f "$BIN_DIR/.complete" || ! -x "$APISERVER_BIN" || ! -x "$KUBECTL_BIN" ]]; then
    pkgs+=(k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl)
    names+=(kube-apiserver kubectl)
  fi
  if [[ "$ETCD_KIND" == source && ! -x "$BIN_DIR/etcd" ]]; then
    pkgs+=(go.etcd.io/etcd/server/v3)
    names+=(etcd)
  fi
  say "building ${names[*]} (kubernetes v$K8S_VERSION, etcd $etcd_version) with go build -p=$jobs" \
      "under nice; once, cached in $BIN_DIR; 10-30 min on 2 cores on a new machine"
  local ld="-s -w" p
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=v$K8S_VERSION -X $p.gitMajor=${K8S_VERSION%%.*}"
    ld+=" -X $p.gitMinor=$(echo "$K8S_VERSION" | cut -d. -f2) -X $p.gitTreeState=clean"
  done
  rm -rf "$BUILD_DIR/bin.tmp"
  mkdir -p "$BUILD_DIR/bin.tmp" "$BIN_DIR"
  local i n
  for i in "${!pkgs[@]}"; do
    # One program at a time keeps the peak memory of the link step low.
    (cd "$src" && nice -n 19 "$GO" build -trimpath -ldflags "$ld" \
        -o "$BUILD_DIR/bin.tmp/${names[$i]}" "${pkgs[$i]}") >>"$log" 2>&1 \
      || { tail -n 30 "$log" >&2; die "go build ${pkgs[$i]} failed (log: $log)"; }
  done
  for n in "${names[@]}"; do
    mv -f "$BUILD_DIR/bin.tmp/$n" "$BIN_DIR/$n"
  done
  rmdir "$BUILD_DIR/bin.tmp"
  touch "$BIN_DIR/.complete"
  local sizes=""
  for n in "${names[@]}"; do sizes+=" $n $(du -h "$BIN_DIR/$n" | cut -f1)"; done
  say "built in $((SECONDS - t0)) s:$sizes"
  exec 8>&-
}

# ---- certificates ------------------------------------------------------------------------------

# sign_cert NAME SUBJECT [EXTFILE]: key + certificate signed by the local CA into $PKI_DIR/NAME.*
sign_cert() {
  local name="$1" subj="$2" ext="${3:-}"
  openssl genrsa -out "$PKI_DIR/$name.key" 2048 2>/dev/null
  openssl req -new -key "$PKI_DIR/$name.key" -subj "$subj" -out "$PKI_DIR/$name.csr" 2>/dev/null
  openssl x509 -req -in "$PKI_DIR/$name.csr" -CA "$PKI_DIR/ca.crt" -CAkey "$PKI_DIR/ca.key" \
    -CAcreateserial -days 3650 -sha256 ${ext:+-extfile "$ext"} -out "$PKI_DIR/$name.crt" 2>/dev/null
  rm -f "$PKI_DIR/$name.csr"
  chmod 600 "$PKI_DIR/$name.key"
}

ensure_pki() {
  [[ -f "$PKI_DIR/.complete" ]] && return 0
  say "generating a CA, serving, admin and service-account keys in $PKI_DIR"
  rm -rf "$PKI_DIR"
  mkdir -p "$PKI_DIR"
  chmod 700 "$PKI_DIR"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$PKI_DIR/ca.key" -out "$PKI_DIR/ca.crt" \
    -days 3650 -sha256 -subj "/CN=anchor-events-kube-local-ca" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    2>/dev/null || die "openssl failed to make the CA"
  cat >"$PKI_DIR/serving.ext" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost,IP:${SERVICE_CIDR%.0/*}.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc
EOF
  cat >"$PKI_DIR/client.ext" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth
EOF
  sign_cert apiserver "/CN=kube-apiserver" "$PKI_DIR/serving.ext"
  sign_cert admin "/O=system:masters/CN=kube-local-admin" "$PKI_DIR/client.ext"
  openssl genrsa -out "$PKI_DIR/sa.key" 2048 2>/dev/null
  openssl rsa -in "$PKI_DIR/sa.key" -pubout -out "$PKI_DIR/sa.pub" 2>/dev/null
  chmod 600 "$PKI_DIR/sa.key"
  touch "$PKI_DIR/.complete"
}

# write_kubeconfig FILE USER CERT KEY: a self-contained kubeconfig (certificates inlined).
write_kubeconfig() {
  local file="$1" user="$2" cert="$3" key="$4"
  (umask 077; : >"$file.tmp")
  cat >"$file.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: kube-local
  cluster:
    server: $SERVER_URL
    certificate-authority-data: $(base64 -w0 <"$PKI_DIR/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(base64 -w0 <"$cert")
    client-key-data: $(base64 -w0 <"$key")
contexts:
- name: kube-local
  context:
    cluster: kube-local
    user: $user
    namespace: default
current-context: kube-local
EOF
  mv -f "$file.tmp" "$file"
}

# ---- processes ---------------------------------------------------------------------------------

# pid_of PIDFILE NAME: the pid when that process is program NAME with our state dir in its flags.
pid_of() {
  local pidfile="$1" name="$2" pid argv0 cmdline
  [[ -f "$pidfile" ]] || return 1
  pid="$(cat "$pidfile" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ && -r "/proc/$pid/cmdline" ]] || return 1
  argv0="$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | head -n1 || true)"
  cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
  [[ "${argv0##*/}" == "$name" && "$cmdline" == *"$STATE_DIR"* ]] || return 1
  echo "$pid"
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# The servers get no proxy settings and no systemd notify socket from the caller's environment.
CHILD_ENV=(env -u NOTIFY_SOCKET -u HTTP_PROXY -u HTTPS_PROXY -u http_proxy -u https_proxy
           -u ALL_PROXY -u all_proxy)

port_in_use() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

etcd_healthy() {
  curl -sf --noproxy "*" --max-time 2 "$ETCD_URL/health" 2>/dev/null | grep -q '"health":"true"'
}

api_ready() {
  curl -sf --noproxy "*" --max-time 3 --cacert "$PKI_DIR/ca.crt" --cert "$PKI_DIR/admin.crt" \
    --key "$PKI_DIR/admin.key" "$SERVER_URL/readyz" >/dev/null 2>&1
}

# stop_pid PID NAME [SIGNAL]: SIGNAL (default TERM), wait up to 30 s, then KILL.
stop_pid() {
  local pid="$1" name="$2" sig="${3:-TERM}" deadline=$((SECONDS + 30)) t0
  t0=$(now_ms)
  say "stopping $name (pid $pid, SIG$sig)"
  kill -"$sig" "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    say "$name did not stop within 30 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  say "$name stopped ($(($(now_ms) - t0)) ms)"
}

print_log_tail() {
  local n="${1:-60}" f
  for f in "$ETCD_LOG" "$API_LOG"; do
    if [[ -s "$f" ]]; then
      echo "----- last $n lines of $f -----" >&2
      tail -n "$n" "$f" >&2
    fi
  done
}

start_etcd() {
  local pid
  if pid="$(pid_of "$ETCD_PID" etcd)"; then
    etcd_healthy && return 0
  else
    rm -f "$ETCD_PID"
    for p in "$ETCD_PORT" "$ETCD_PEER_PORT"; do
      port_in_use "$p" && die "port $HOST:$p is in use by another process (set KUBE_LOCAL_ETCD_PORT)"
    done
    mkdir -p "$ETCD_DATA"
    chmod 700 "$ETCD_DATA"
    say "starting etcd $("$ETCD_BIN" --version | sed -n 's/^etcd Version: //p') on $ETCD_URL (data $ETCD_DATA)"
    # Plain HTTP on loopback only; no discovery, no proxy. --snapshot-count keeps memory low.
    setsid "${CHILD_ENV[@]}" "$ETCD_BIN" --name kube-local --data-dir "$ETCD_DATA" \
      --listen-client-urls "$ETCD_URL" --advertise-client-urls "$ETCD_URL" \
      --listen-peer-urls "http://$HOST:$ETCD_PEER_PORT" \
      --initial-advertise-peer-urls "http://$HOST:$ETCD_PEER_PORT" \
      --initial-cluster "kube-local=http://$HOST:$ETCD_PEER_PORT" \
      --initial-cluster-state new --initial-cluster-token "kube-local-$PORT" \
      --snapshot-count 10000 --logger zap --log-outputs stderr \
      </dev/null >>"$ETCD_LOG" 2>&1 8>&- 9>&- &
    pid=$!
    echo "$pid" >"$ETCD_PID"
  fi
  local t0 deadline=$((SECONDS + 30))
  t0=$(now_ms)
  while ((SECONDS < deadline)); do
    kill -0 "$pid" 2>/dev/null || { print_log_tail 40; die "etcd exited during start-up"; }
    if etcd_healthy; then
      say "etcd healthy (pid $pid, $(($(now_ms) - t0)) ms)"
      return 0
    fi
    sleep 0.1
  done
  print_log_tail 40
  die "etcd did not become healthy within 30 s"
}

start_apiserver() {
  local pid launched=0
  if pid="$(pid_of "$API_PID" kube-apiserver)"; then
    say "kube-apiserver already running (pid $pid)"
  else
    rm -f "$API_PID"
    port_in_use "$PORT" && die "port $HOST:$PORT is in use by another process (set KUBE_LOCAL_PORT)"
    say "starting kube-apiserver v$K8S_VERSION on $SERVER_URL"
    # Loopback only: bind/advertise 127.0.0.1, etcd on loopback, no cloud provider, no webhook
    # admission (so no callouts to other addresses), no endpoint reconciler (Endpoints may not hold
    # loopback addresses). RBAC stays on so least-privilege roles can be tested. The watch
    # termination grace period makes SIGTERM close open watches (else it waits up to 60 s for them).
    # shellcheck disable=SC2086
    setsid "${CHILD_ENV[@]}" "$APISERVER_BIN" \
      --bind-address="$HOST" --advertise-address="$HOST" --secure-port="$PORT" \
      --etcd-servers="$ETCD_URL" --etcd-compaction-interval="$COMPACTION_INTERVAL" \
      --tls-cert-file="$PKI_DIR/apiserver.crt" --tls-private-key-file="$PKI_DIR/apiserver.key" \
      --client-ca-file="$PKI_DIR/ca.crt" \
      --service-account-issuer="$SERVER_URL" \
      --service-account-key-file="$PKI_DIR/sa.pub" \
      --service-account-signing-key-file="$PKI_DIR/sa.key" \
      --authorization-mode=RBAC \
      --service-cluster-ip-range="$SERVICE_CIDR" \
      --endpoint-reconciler-type=none \
      --disable-admission-plugins=MutatingAdmissionWebhook,ValidatingAdmissionWebhook \
      --profiling=false --shutdown-watch-termination-grace-period=2s \
      ${KUBE_LOCAL_APISERVER_ARGS:-} \
      </dev/null >>"$API_LOG" 2>&1 8>&- 9>&- &
    pid=$!
    launched=1
    echo "$pid" >"$API_PID"
  fi
  local t0 deadline=$((SECONDS + START_TIMEOUT))
  t0=$(now_ms)
  while ((SECONDS < deadline)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      print_log_tail 40
      rm -f "$API_PID"
      die "kube-apiserver exited during start-up (log: $API_LOG)"
    fi
    if api_ready; then
      say "kube-apiserver ready (pid $pid, $(($(now_ms) - t0)) ms)"
      return 0
    fi
    sleep 0.25
  done
  print_log_tail 40
  if ((launched)); then
    stop_pid "$pid" kube-apiserver
    rm -f "$API_PID"
  fi
  die "kube-apiserver not ready within $START_TIMEOUT s (log: $API_LOG)"
}

stop_apiserver() {
  local pid
  if pid="$(pid_of "$API_PID" kube-apiserver)"; then
    stop_pid "$pid" kube-apiserver "${1:-TERM}"
  fi
  rm -f "$API_PID"
}

stop_etcd() {
  local pid
  if pid="$(pid_of "$ETCD_PID" etcd)"; then
    stop_pid "$pid" etcd
  fi
  rm -f "$ETCD_PID"
}

with_lock() {
  mkdir -p "$STATE_DIR"
  exec 9>"$STATE_DIR/.lock"
  flock -w 300 9 || die "could not lock $STATE_DIR/.lock"
}

# ---- commands ----------------------------------------------------------------------------------

cmd_build() {
  ensure_runtime_packages
  build_binaries
}

cmd_start() {
  cmd_build
  with_lock
  if [[ "${KUBE_LOCAL_FRESH:-0}" == "1" ]]; then
    stop_apiserver
    stop_etcd
    rm -rf "$ETCD_DATA"
    say "deleted the etcd data (KUBE_LOCAL_FRESH=1)"
  fi
  ensure_pki
  write_kubeconfig "$KUBECONFIG_FILE" kube-local-admin "$PKI_DIR/admin.crt" "$PKI_DIR/admin.key"
  start_etcd
  start_apiserver
  echo "$KUBECONFIG_FILE"
}

cmd_stop() {
  with_lock
  stop_apiserver
  stop_etcd
  say "stopped (etcd data kept in $ETCD_DATA)"
}

cmd_restart_apiserver() {
  local sig=TERM
  case "${1:-}" in
    "") ;;
    --kill) sig=KILL ;;
    *) die "usage: $0 restart-apiserver [--kill]" ;;
  esac
  [[ -x "$APISERVER_BIN" ]] || die "not built yet: run $0 start"
  with_lock
  pid_of "$ETCD_PID" etcd >/dev/null || die "etcd is not running: run $0 start"
  stop_apiserver "$sig"
  start_apiserver
}

cmd_status() {
  local rc=0 pid
  if pid="$(pid_of "$ETCD_PID" etcd)" && etcd_healthy; then
    say "etcd: running (pid $pid) on $ETCD_URL"
  else
    say "etcd: not running on $ETCD_URL"; rc=1
  fi
  if pid="$(pid_of "$API_PID" kube-apiserver)" && api_ready; then
    say "kube-apiserver: ready (pid $pid) on $SERVER_URL"
  else
    say "kube-apiserver: not ready on $SERVER_URL"; rc=1
  fi
  return $rc
}

cmd_env() {
  cat <<EOF
export KUBECONFIG='$KUBECONFIG_FILE'
export KUBE_LOCAL_SERVER='$SERVER_URL'
export KUBE_LOCAL_CA='$PKI_DIR/ca.crt'
export KUBE_LOCAL_CLIENT_CERT='$PKI_DIR/admin.crt'
export KUBE_LOCAL_CLIENT_KEY='$PKI_DIR/admin.key'
export KUBE_LOCAL_ETCD_URL='$ETCD_URL'
export KUBE_LOCAL_BIN='$BIN_DIR'
export KUBECTL='$KUBECTL_BIN'
EOF
}

cmd_user_kubeconfig() {
  local name="${1:-}"
  [[ -n "$name" ]] || die "usage: $0 user-kubeconfig NAME [GROUP...]"
  shift
  [[ "$name" =~ ^[A-Za-z0-9:._@-]+$ ]] || die "bad user name: $name"
  [[ -f "$PKI_DIR/.complete" ]] || die "no CA yet: run $0 start"
  local subj="" g
  for g in "$@"; do
    [[ "$g" =~ ^[A-Za-z0-9:._@-]+$ ]] || die "bad group name: $g"
    subj+="/O=$g"
  done
  subj+="/CN=$name"
  local safe="user-${name//:/_}"
  sign_cert "$safe" "$subj" "$PKI_DIR/client.ext"
  write_kubeconfig "$STATE_DIR/$safe.kubeconfig" "$name" "$PKI_DIR/$safe.crt" "$PKI_DIR/$safe.key"
  echo "$STATE_DIR/$safe.kubeconfig"
}

cmd_compact() {
  pid_of "$ETCD_PID" etcd >/dev/null || die "etcd is not running"
  # etcd's JSON gateway (same paths in 3.4 and 3.7), so no etcdctl is needed.
  local rev
  rev="$(curl -sf --noproxy "*" --max-time 5 -X POST -d '{}' "$ETCD_URL/v3/maintenance/status" \
         | grep -o '"revision":"[0-9]*"' | head -n1 | tr -dc 0-9)"
  [[ "$rev" =~ ^[0-9]+$ ]] || die "could not read the etcd revision"
  curl -sf --noproxy "*" --max-time 30 -X POST -d "{\"revision\":\"$rev\",\"physical\":true}" \
    "$ETCD_URL/v3/kv/compaction" >/dev/null || die "etcd compaction at revision $rev failed"
  say "compacted etcd at revision $rev"
}

cmd_reset() {
  with_lock
  stop_apiserver
  stop_etcd
  rm -rf "$ETCD_DATA"
  say "deleted $ETCD_DATA"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  restart-apiserver) shift; cmd_restart_apiserver "$@" ;;
  status) cmd_status ;;
  env) cmd_env ;;
  kubeconfig) echo "$KUBECONFIG_FILE" ;;
  user-kubeconfig) shift; cmd_user_kubeconfig "$@" ;;
  kubectl) shift; [[ -x "$KUBECTL_BIN" ]] || die "not built yet: run $0 build"
           exec "$KUBECTL_BIN" --kubeconfig "$KUBECONFIG_FILE" "$@" ;;
  compact) cmd_compact ;;
  reset) cmd_reset ;;
  log) print_log_tail "${2:-60}" ;;
  build) cmd_build; say "binaries in $BIN_DIR" ;;
  *) echo "usage: $0 start|stop|restart-apiserver [--kill]|status|env|kubeconfig|user-kubeconfig NAME [GROUP...]|kubectl ARGS...|compact|reset|log [N]|build" >&2
     exit 2 ;;
esac
