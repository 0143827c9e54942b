# Shared by scripts/demo and scripts/test: install what is missing from
# Debian 12 and build. Sourced, not run.

PACKAGES=(
  build-essential cmake pkg-config clang clang-format libclang-rt-14-dev
  libuv1-dev libcurl4-openssl-dev libhiredis-dev libjansson-dev libyaml-dev
  libssl-dev zlib1g-dev libsystemd-dev libcmocka-dev libcsv-dev
  redis-server prometheus-alertmanager python3 python3-prometheus-client
  systemd strace tzdata dpkg-dev shellcheck
  chromium fonts-wqy-microhei
  ca-certificates
)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_packages() {
  local missing=() p
  for p in "${PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "== installing: ${missing[*]}"
    as_root apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
      --no-install-recommends "${missing[@]}"
  fi
}

# build DIR [cmake options...]
build() {
  local dir=$1
  shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$dir" -j"$(nproc)"
}
