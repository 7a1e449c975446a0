# Shared helpers for scripts/*.sh (sourced).
FATECTL_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# apt_install PKG...: installs the Debian packages that are missing (quiet, idempotent).
apt_install() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing: ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  if [ ! -f /var/lib/apt/fatectl-updated ] || [ -n "$(find /var/lib/apt/fatectl-updated -mmin +1440 2>/dev/null)" ]; then
    $sudo apt-get -o DPkg::Lock::Timeout=600 update -qq >&2 && $sudo touch /var/lib/apt/fatectl-updated
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    --no-install-recommends "${missing[@]}" >&2
}

BUILD_PACKAGES=(g++ ccache cmake make pkg-config dpkg-dev file libcli11-dev libyaml-cpp-dev libcurl4-openssl-dev
  libfmt-dev libgmp-dev libssl-dev doctest-dev zlib1g-dev ca-certificates)
