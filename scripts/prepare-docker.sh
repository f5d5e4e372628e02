#!/usr/bin/env bash
# Make this machine ready for `-D backend=compose`, with no image registry: a Docker engine,
# a local Debian base image, the Python wheelhouse and the three service images.
# Idempotent; when everything is in place it only checks (about a second). docs/compose.md.
#
#   bash scripts/prepare-docker.sh            # as root on Debian 12 (apt-get, dockerd, debootstrap)
#
# Steps (each timed; the timings also go to reports/prepare-docker.json):
#   1. engine     install Debian's docker.io (+ debootstrap) if dockerd is missing; start dockerd in
#                 the background if no engine answers (log: $DOCKERD_LOG), wait for `docker info`
#   2. base       $BASE_IMAGE (default cos-pact-e2e/base:bookworm) if absent: debootstrap a minbase
#                 bookworm with python3, python3-venv, python3-pip, ca-certificates from the Debian
#                 mirror in /etc/apt/sources.list(.d), trimmed, then `docker import`
#   3. wheelhouse wheelhouse/ (gitignored): the wheels of docker/requirements-service.txt for
#                 CPython 3.11 manylinux x86_64 (the base image's Python), from PyPI via pip download
#   4. images     cos-pact-e2e/{cos,mc,faultproxy}:dev from docker/*.Dockerfile with
#                 --build-arg BASE_IMAGE, context streamed as a tar of exactly what they need;
#                 skipped when the image's input-hash label matches
#
# Environment:
#   BASE_IMAGE             base to build on (default cos-pact-e2e/base:bookworm; e.g. python:3.11-slim
#                          where a registry is reachable — then step 2 pulls instead of debootstrapping)
#   DOCKER_STORAGE_DRIVER  for a dockerd started here: overlay2 when the kernel can mount overlayfs,
#                          else vfs (vfs copies the whole image for every container: ~17 s each here)
#   DOCKERD_LOG            default /var/log/cos-pact-e2e-dockerd.log
#   DOCKERD_EXTRA_ARGS     more flags for a dockerd started here (it always gets --userland-proxy=false)
#   DEBIAN_MIRROR          default: the bookworm mirror from apt's sources, else deb.debian.org
#   IMAGE_PREFIX, IMAGE_TAG  default cos-pact-e2e, dev
set -euo pipefail
cd "$(dirname "$0")/.."

BASE_IMAGE="${BASE_IMAGE:-cos-pact-e2e/base:bookworm}"
LOCAL_BASE="cos-pact-e2e/base:bookworm"
IMAGE_PREFIX="${IMAGE_PREFIX:-cos-pact-e2e}"
IMAGE_TAG="${IMAGE_TAG:-dev}"
DOCKERD_LOG="${DOCKERD_LOG:-/var/log/cos-pact-e2e-dockerd.log}"
SERVICES=(cos mc faultproxy)
# Everything the three images are built from (the build context, streamed as a tar).
CONTEXT_PATHS=(docker wheelhouse seam policy companyos conductor faultproxy)
INPUTS_LABEL="cos-pact-e2e.inputs"

declare -A TIMES=()
declare -A RESULT=()
now() { date +%s.%N; }
log() { echo "prepare: $*"; }
die() { echo "prepare: ERROR: $*" >&2; exit 1; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

APT_UPDATED=0
apt_install() {
  command -v apt-get >/dev/null || die "apt-get not found: install $* by hand (Debian 12 is assumed)"
  [ "$(id -u)" = 0 ] || die "installing $* needs root"
  if [ "$APT_UPDATED" = 0 ]; then
    apt-get update -qq
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

engine_answers() { timeout 10 docker info >/dev/null 2>&1; }

pick_storage_driver() {
  if [ -n "${DOCKER_STORAGE_DRIVER:-}" ]; then echo "$DOCKER_STORAGE_DRIVER"; return; fi
  local d
  d="$(mktemp -d)"
  mkdir -p "$d/l" "$d/u" "$d/w" "$d/m"
  if grep -qw overlay /proc/filesystems 2>/dev/null &&
     mount -t overlay overlay -o "lowerdir=$d/l,upperdir=$d/u,workdir=$d/w" "$d/m" 2>/dev/null; then
    umount "$d/m"; rm -rf "$d"; echo overlay2
  else
    rm -rf "$d"; echo vfs
  fi
}

step_engine() {
  command -v docker >/dev/null || apt_install docker.io
  if engine_answers; then
    RESULT[engine]="engine already running ($(docker info -f '{{.ServerVersion}}, {{.Driver}}' 2>/dev/null))"
    return
  fi
  if ! command -v dockerd >/dev/null; then
    log "installing Debian's docker.io and debootstrap"
    apt_install docker.io debootstrap
  fi
  local driver
  driver="$(pick_storage_driver)"
  # --userland-proxy=false: published ports by iptables NAT instead of a docker-proxy process
  # copying every byte (under the 1000 req/s load scenario that copy costs what the budget needs).
  local flags=(--storage-driver="$driver" --userland-proxy=false)
  # shellcheck disable=SC2206
  flags+=(${DOCKERD_EXTRA_ARGS:-})
  log "starting dockerd ${flags[*]} (log: $DOCKERD_LOG)"
  mkdir -p "$(dirname "$DOCKERD_LOG")"
  setsid nohup dockerd "${flags[@]}" >>"$DOCKERD_LOG" 2>&1 </dev/null &
  local deadline=$((SECONDS + 60))
  until engine_answers; do
    [ "$SECONDS" -lt "$deadline" ] || { tail -20 "$DOCKERD_LOG" >&2; die "dockerd did not answer within 60 s"; }
    sleep 0.5
  done
  RESULT[engine]="dockerd started ($(docker info -f '{{.ServerVersion}}, {{.Driver}}'))"
}

debian_mirror() {
  if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
  local found=""
  # deb822 (.sources): the stanza whose Suites include bookworm and whose URI is not -security
  found="$(awk '
    /^[[:space:]]*$/ { if (uris != "" && suites ~ /(^| )bookworm( |$)/ && uris !~ /security/) { print uris; exit } uris=""; suites=""; next }
    /^URIs:/ { sub(/^URIs:[[:space:]]*/, ""); split($0, u, " "); uris=u[1] }
    /^Suites:/ { sub(/^Suites:[[:space:]]*/, ""); suites=$0 }
    END { if (uris != "" && suites ~ /(^| )bookworm( |$)/ && uris !~ /security/) print uris }
  ' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)"
  if [ -z "$found" ] && [ -f /etc/apt/sources.list ]; then
    found="$(awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                 if ($(i+1) == "bookworm" && $i !~ /security/) { print $i; exit } }' /etc/apt/sources.list)"
  fi
  echo "${found:-http://deb.debian.org/debian}"
}

step_base() {
  if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    RESULT[base]="$BASE_IMAGE present"
    return
  fi
  if [ "$BASE_IMAGE" != "$LOCAL_BASE" ]; then
    log "pulling $BASE_IMAGE"
    docker pull -q "$BASE_IMAGE" >/dev/null || die "cannot pull $BASE_IMAGE (no registry?); unset BASE_IMAGE to build $LOCAL_BASE locally"
    RESULT[base]="pulled $BASE_IMAGE"
    return
  fi
  command -v debootstrap >/dev/null || apt_install debootstrap
  local mirror root
  mirror="$(debian_mirror)"
  root="$(mktemp -d /var/tmp/cos-pact-e2e-rootfs.XXXXXX)"
  log "debootstrap bookworm (minbase + python3, python3-venv, python3-pip, ca-certificates) from $mirror"
  if ! debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
      bookworm "$root" "$mirror" >"$root.log" 2>&1; then
    tail -30 "$root.log" >&2; rm -f "$root.log"
    die "debootstrap failed"
  fi
  rm -f "$root.log"
  # Smaller image: no apt caches or lists, no docs, man pages or translations.
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin "$root"/var/lib/apt/lists/* \
         "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
         "$root"/usr/share/locale/* "$root"/var/log/* "$root"/tmp/* "$root"/root/.cache
  chroot "$root" python3 -c 'import sys; assert sys.version_info >= (3, 11), sys.version' ||
    die "the debootstrapped python3 is older than 3.11"
  chmod 0755 "$root"   # mktemp made it 0700: as the image's / it would lock out the non-root user
  tar -C "$root" -c . | docker import \
      --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' \
      --message "debootstrap --variant=minbase bookworm + python3 (scripts/prepare-docker.sh)" \
      - "$LOCAL_BASE" >/dev/null
  rm -rf "$root"
  RESULT[base]="built $LOCAL_BASE ($(docker image inspect -f '{{.Size}}' "$LOCAL_BASE" | awk '{ printf "%d MB", $1 / 1e6 }'))"
}

pip_cmd() {
  if [ -x .venv/bin/python ]; then echo ".venv/bin/python -m pip"
  elif python3 -m pip --version >/dev/null 2>&1; then echo "python3 -m pip"
  else die "no pip: run scripts/bootstrap.sh first"; fi
}

step_wheelhouse() {
  # Wheels for the image's interpreter, whatever the host runs: CPython 3.11, glibc ≤ 2.36 (bookworm).
  local plats=() v
  for v in $(seq 36 -1 17); do plats+=(--platform "manylinux_2_${v}_x86_64"); done
  plats+=(--platform manylinux2014_x86_64 --platform manylinux2010_x86_64 --platform manylinux1_x86_64)
  local stamp
  stamp="$(cat docker/requirements-service.txt <(echo "${plats[*]}") | sha256sum | cut -c1-16)"
  if [ "$(cat wheelhouse/.stamp 2>/dev/null)" = "$stamp" ] && ls wheelhouse/*.whl >/dev/null 2>&1; then
    RESULT[wheelhouse]="wheelhouse up to date ($(find wheelhouse -name "*.whl" | wc -l) wheels)"
    return
  fi
  rm -rf wheelhouse
  mkdir -p wheelhouse
  # shellcheck disable=SC2046
  $(pip_cmd) download --quiet --disable-pip-version-check --only-binary=:all: \
      --implementation cp --python-version 3.11 "${plats[@]}" \
      -r docker/requirements-service.txt -d wheelhouse 2> >(grep -v "^WARNING: Location" >&2)
  echo "$stamp" > wheelhouse/.stamp
  RESULT[wheelhouse]="downloaded $(find wheelhouse -name "*.whl" | wc -l) wheels ($(du -sh wheelhouse | cut -f1))"
}

inputs_hash() {
  # What an image is built from: the Dockerfiles, the wheels, the sources, the base image's id.
  {
    docker image inspect -f '{{.Id}}' "$BASE_IMAGE"
    find "${CONTEXT_PATHS[@]}" -type f ! -path '*/__pycache__/*' ! -name '*.pyc' ! -name '.stamp' -print0 |
      sort -z | xargs -0 sha256sum
  } | sha256sum | cut -c1-16
}

step_images() {
  local hash built=() svc image current
  hash="$(inputs_hash)"
  for svc in "${SERVICES[@]}"; do
    image="$IMAGE_PREFIX/$svc:$IMAGE_TAG"
    current="$(docker image inspect -f "{{index .Config.Labels \"$INPUTS_LABEL\"}}" "$image" 2>/dev/null || true)"
    if [ "$current" = "$hash" ]; then continue; fi
    local t0 err
    t0="$(now)"
    err="$(mktemp)"
    # The legacy builder: it needs no buildx plugin, and the context is exactly the tar below.
    if ! tar -c --exclude=__pycache__ --exclude='*.pyc' --exclude=wheelhouse/.stamp "${CONTEXT_PATHS[@]}" |
        DOCKER_BUILDKIT=0 docker build --quiet --network none --force-rm \
          -f "docker/$svc.Dockerfile" --build-arg "BASE_IMAGE=$BASE_IMAGE" \
          --label "$INPUTS_LABEL=$hash" -t "$image" - >/dev/null 2>"$err"; then
      cat "$err" >&2; rm -f "$err"
      die "docker build of $image failed"
    fi
    rm -f "$err"
    built+=("$svc $(elapsed "$t0")s")
  done
  # Superseded builds of ours (untagged now) go; nobody else's images are touched.
  docker image prune -f --filter "label=$INPUTS_LABEL" >/dev/null 2>&1 || true
  if [ "${#built[@]}" = 0 ]; then
    RESULT[images]="images up to date (inputs $hash)"
  else
    RESULT[images]="built ${built[*]} (inputs $hash)"
  fi
}

run_step() {
  local name="$1" t0
  t0="$(now)"
  "step_$name"
  TIMES[$name]="$(elapsed "$t0")"
  log "$(printf '%-10s %6ss  %s' "$name" "${TIMES[$name]}" "${RESULT[$name]}")"
}

T0="$(now)"
if [ ! -x .venv/bin/python ]; then BOOTSTRAP_NPM=0 bash scripts/bootstrap.sh; fi
for step in engine base wheelhouse images; do run_step "$step"; done
TOTAL="$(elapsed "$T0")"
mkdir -p reports
printf '{"engine_s": %s, "base_s": %s, "wheelhouse_s": %s, "images_s": %s, "total_s": %s, "images": "%s"}\n' \
  "${TIMES[engine]}" "${TIMES[base]}" "${TIMES[wheelhouse]}" "${TIMES[images]}" "$TOTAL" "${RESULT[images]}" \
  > reports/prepare-docker.json
log "ready in ${TOTAL}s: $(for s in "${SERVICES[@]}"; do printf '%s ' "$IMAGE_PREFIX/$s:$IMAGE_TAG"; done)on BASE_IMAGE=$BASE_IMAGE"
