# Shared by ops/run and ops/test: a Python >= 3.11 virtualenv in .venv with the project installed.
# Usage: source ops/_env.sh; ensure_venv "<extras>"   (extras like "test" or "", reinstalls when pyproject changes)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

find_python() {
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "Python 3.11 or newer is required" >&2; return 1
}

# Debian packages the project needs, installed when we are root and they are missing.
ensure_debian_packages() {
  local missing=()
  command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ] || return 0
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing Debian packages: ${missing[*]}" >&2
  # Wait for a dpkg lock another installer holds (unattended upgrades on a fresh machine, a parallel run).
  apt-get -o DPkg::Lock::Timeout=900 update -qq >&2 || true
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends \
    "${missing[@]}" >&2
}

ensure_venv() {
  local extras="$1" spec="." stamp
  [ -n "$extras" ] && spec=".[$extras]"
  if [ ! -x .venv/bin/python ]; then
    "$(find_python)" -m venv .venv
    .venv/bin/pip install -q --upgrade pip >&2
  fi
  stamp="$(cat pyproject.toml setup.py routing/*.c | sha256sum | cut -c1-16)-$extras"  # the C sources too: rebuilt
  if [ "$(cat .venv/.ems-installed 2>/dev/null)" != "$stamp" ]; then
    echo "installing the project into .venv ($spec)" >&2
    .venv/bin/pip install -q -e "$spec" >&2
    echo "$stamp" > .venv/.ems-installed
  fi
}
