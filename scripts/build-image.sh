#!/usr/bin/env bash
# Builds the anchor-events container image from the Dockerfile with buildah (no Docker engine,
# no registry needed), as root on Debian 12, and optionally checks it.
#
#   scripts/build-image.sh            build the image (tag: $ANCHOR_EVENTS_IMAGE)
#   scripts/build-image.sh --check    build, then run the image's own binary from its root
#                                     filesystem: every library resolves, check-config accepts a
#                                     sample configuration and `demo` passes, as the image's
#                                     non-root user on a read-only view of the root filesystem
#   scripts/build-image.sh --check-only   the checks, on an image built before
#
# The Dockerfile starts FROM $BASE_IMAGE (debian:bookworm-slim). When that image is not in local
# storage it is made here: a `debootstrap --variant=minbase bookworm` root filesystem fetched
# from this machine's own Debian mirror (read from its apt configuration, never written in the
# repository), with the same apt sources, committed under the name FROM uses.
#
# Environment:
#   ANCHOR_EVENTS_IMAGE   image name (default anchor-events:dev)
#   BASE_IMAGE            the Dockerfile's base (default debian:bookworm-slim)
#   REBUILD_BASE=1        make the base image again even if it exists
#   BUILD_JOBS            compile jobs in the builder stage (default: nproc)
#   CONTAINERS_ROOT       buildah storage (vfs driver), default
#                         ${ANCHOR_EVENTS_CACHE:-~/.cache/anchor-events}/containers
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
IMAGE="${ANCHOR_EVENTS_IMAGE:-anchor-events:dev}"
BASE="${BASE_IMAGE:-debian:bookworm-slim}"
CACHE_DIR="${ANCHOR_EVENTS_CACHE:-$HOME/.cache/anchor-events}"
STORE="${CONTAINERS_ROOT:-$CACHE_DIR/containers}"
JOBS="${BUILD_JOBS:-$(nproc)}"
IMAGE_UID=10001

say() { echo "build-image: $*" >&2; }
die() { say "$*"; exit 1; }
bah() { buildah --root "$STORE/storage" --runroot "$STORE/run" --storage-driver vfs "$@"; }
now() { date +%s; }

mode=build
case "${1:-}" in
  "") ;;
  --check) mode=build-and-check ;;
  --check-only) mode=check ;;
  *) die "usage: $0 [--check|--check-only]" ;;
esac

[[ "$(id -u)" == 0 ]] || die "needs root (buildah, debootstrap, chroot)"

ensure_tools() {
  local missing=()
  command -v buildah >/dev/null || missing+=(buildah)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  if ((${#missing[@]})); then
    say "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null
  fi
  mkdir -p "$STORE"
}

# "URL SUITE" for each Debian bookworm suite this machine's apt uses, as apt itself reads its
# configuration (one-line and deb822 sources alike).
debian_sources() {
  local lines
  lines="$(apt-cache policy 2>/dev/null |
    awk '$2 ~ /^https?:\/\// && $3 ~ /^bookworm(-updates|-security)?\/main$/ {
           sub(/\/main$/, "", $3); print $2, $3 }' | sort -u)"
  if [[ -z "$lines" ]]; then
    apt-get update -qq >/dev/null
    lines="$(apt-cache policy 2>/dev/null |
      awk '$2 ~ /^https?:\/\// && $3 ~ /^bookworm(-updates|-security)?\/main$/ {
             sub(/\/main$/, "", $3); print $2, $3 }' | sort -u)"
  fi
  [[ -n "$lines" ]] || die "no Debian bookworm source in this machine's apt configuration"
  echo "$lines"
}

# Writes the machine's Debian sources and its date checks into the new root filesystem, so the
# Dockerfile's apt-get reaches the same mirror and trusts it the same way.
configure_apt() {
  local rootfs="$1" sources="$2"
  rm -f "$rootfs/etc/apt/sources.list"
  awk '{ print "deb " $1 " " $2 " main" }' <<<"$sources" >"$rootfs/etc/apt/sources.list"
  local conf="$rootfs/etc/apt/apt.conf.d/90anchor-events-base"
  : >"$conf"
  local key value
  for key in Acquire::Check-Valid-Until Acquire::Check-Date; do
    value="$(apt-config dump "$key" | awk -v k="$key" '$1 == k { gsub(/[";]/, "", $2); print $2 }')"
    if [[ -n "$value" ]]; then
      echo "$key \"$value\";" >>"$conf"
    fi
  done
  # As the official slim images: no documentation, manuals or translations.
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/90anchor-events-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/lintian/*
EOF
}

make_base() {
  local sources mirror work ctr mnt start
  start="$(now)"
  sources="$(debian_sources)"
  mirror="$(awk '$2 == "bookworm" { print $1; exit }' <<<"$sources")"
  [[ -n "$mirror" ]] || die "no bookworm main suite among: $sources"
  work="$(mktemp -d /tmp/anchor-events-base.XXXXXX)"
  say "debootstrap minbase bookworm from the machine's mirror into $work"
  if ! debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" \
    >"$work/debootstrap.log" 2>&1; then
    tail -20 "$work/debootstrap.log" >&2
    rm -rf "$work"
    die "debootstrap failed"
  fi
  configure_apt "$work/rootfs" "$sources"
  rm -rf "$work/rootfs"/var/cache/apt/archives/*.deb "$work/rootfs"/var/lib/apt/lists/* \
    "$work/rootfs"/usr/share/doc/*/[!c]* "$work/rootfs"/usr/share/man/* \
    "$work/rootfs"/usr/share/info/* "$work/rootfs"/usr/share/locale/* "$work/rootfs"/var/log/*.log
  ctr="$(bah from scratch)"
  mnt="$(bah mount "$ctr")"
  tar -C "$work/rootfs" --numeric-owner -cf - . | tar -C "$mnt" --numeric-owner -xpf -
  bah umount "$ctr" >/dev/null
  bah config --cmd /bin/bash \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$ctr"
  bah commit --quiet --rm "$ctr" "$BASE" >/dev/null
  rm -rf "$work"
  say "base image $BASE made in $(($(now) - start)) s"
}

build_image() {
  if [[ "${REBUILD_BASE:-0}" == 1 ]] || ! bah inspect --type image "$BASE" >/dev/null 2>&1; then
    make_base
  else
    say "base image $BASE found in $STORE"
  fi
  local start
  start="$(now)"
  say "building $IMAGE (builder stage compiles with $JOBS jobs)"
  bah bud --isolation chroot --pull-never --build-arg "BASE_IMAGE=$BASE" \
    --build-arg "BUILD_JOBS=$JOBS" -t "$IMAGE" -f "$root/Dockerfile" "$root" >&2 ||
    die "building $IMAGE failed (log above)"  # explicit: callers run this inside an if
  # The image this build replaced is left dangling; vfs layers are full copies, so drop it.
  bah rmi --prune >/dev/null 2>&1 || true
  local size
  size="$(bah images --format '{{.Size}}' "$IMAGE")"
  say "image $IMAGE built in $(($(now) - start)) s; size $size"
}

# ---- checks ------------------------------------------------------------------------------------

ctr=""
ro=""
samples=""
cleanup() {
  if [[ -n "$ro" ]]; then
    umount "$ro/mnt" 2>/dev/null || true
    umount "$ro" 2>/dev/null || true
    rmdir "$ro" 2>/dev/null || true
  fi
  if [[ -n "$ctr" ]]; then
    bah umount "$ctr" >/dev/null 2>&1 || true
    bah rm "$ctr" >/dev/null 2>&1 || true
  fi
  [[ -z "$samples" ]] || rm -rf "$samples"
}

check_config() {
  local user entrypoint
  user="$(bah inspect --type image --format '{{.OCIv1.Config.User}}' "$IMAGE")"
  entrypoint="$(bah inspect --type image --format '{{.OCIv1.Config.Entrypoint}}' "$IMAGE")"
  [[ "$user" == "$IMAGE_UID:$IMAGE_UID" ]] ||
    die "image user is '$user', want $IMAGE_UID:$IMAGE_UID"
  [[ "$entrypoint" == '[/usr/local/bin/anchor-events]' ]] ||
    die "image entrypoint is $entrypoint, want the binary"
  say "ok: image runs as $user with ENTRYPOINT $entrypoint"
}

# A read-only bind of the image's root filesystem with the sample configuration on /mnt.
mount_read_only() {
  local mnt="$1"
  samples="$(mktemp -d /tmp/anchor-events-image-check.XXXXXX)"
  cp "$root"/tests/packaging/image/* "$samples/"
  chmod 755 "$samples"
  chmod 644 "$samples"/*
  ro="$(mktemp -d /tmp/anchor-events-image-root.XXXXXX)"
  mount --bind "$mnt" "$ro"
  mount -o remount,bind,ro "$ro"
  mount --bind "$samples" "$ro/mnt"
  mount -o remount,bind,ro "$ro/mnt"
  if touch "$ro/usr/local/bin/write-test" 2>/dev/null; then
    die "the read-only view of the image is writable"
  fi
}

run_in_image() {
  chroot --userspec="$IMAGE_UID:$IMAGE_UID" "$ro" /usr/local/bin/anchor-events "$@"
}

check_image() {
  trap cleanup EXIT
  check_config
  ctr="$(bah from --pull-never "$IMAGE")"
  local mnt missing
  mnt="$(bah mount "$ctr")"
  missing="$(chroot "$mnt" /usr/bin/ldd /usr/local/bin/anchor-events | grep 'not found' || true)"
  [[ -z "$missing" ]] || die "libraries missing from the image: $missing"
  say "ok: every library of /usr/local/bin/anchor-events resolves inside the image"
  mount_read_only "$mnt"
  run_in_image version >&2
  if ! run_in_image check-config --config /mnt/anchor-events.yaml >"$samples.out" 2>&1; then
    cat "$samples.out" >&2
    rm -f "$samples.out"
    die "check-config failed inside the image"
  fi
  grep -q '^secret.sep10.signing_seed = <set>$' "$samples.out" ||
    die "check-config inside the image did not load the seed file"
  grep -q '^clients = 2$' "$samples.out" || die "check-config inside the image did not load clients"
  rm -f "$samples.out"
  say "ok: check-config accepts the sample configuration (uid $IMAGE_UID, read-only root)"
  if ! timeout 180 chroot --userspec="$IMAGE_UID:$IMAGE_UID" "$ro" \
    /usr/local/bin/anchor-events demo >"$samples.demo" 2>&1; then
    tail -40 "$samples.demo" >&2
    rm -f "$samples.demo"
    die "demo failed inside the image"
  fi
  rm -f "$samples.demo"
  say "ok: demo passes inside the image (uid $IMAGE_UID, read-only root, loopback only)"
}

ensure_tools
case "$mode" in
  build) build_image ;;
  build-and-check) build_image && check_image ;;
  check) check_image ;;
esac
