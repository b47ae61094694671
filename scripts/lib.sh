# Shared by scripts/start and scripts/test: a virtual environment in .venv with smsdesk in it.
# Works on a bare Debian 12 / Raspberry Pi OS: installs python3-venv when it is missing.

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "smsdesk: '$*' needs root; run it as root, or install sudo." >&2; return 1; fi
}

apt_install() {
  echo "smsdesk: installing Debian packages: $*" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

check_python() {
  command -v python3 >/dev/null || apt_install python3
  python3 - <<'PY' || { echo "smsdesk needs Python 3.11 or newer." >&2; exit 1; }
import sys
sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY
}

# make_venv EXTRAS: create .venv if needed, then install smsdesk (with EXTRAS, e.g. "[test]")
# again only when pyproject.toml changed since the last install.
make_venv() {
  local extras="${1:-}"
  check_python
  if [ ! -x .venv/bin/python ]; then
    if ! python3 -m venv .venv >/dev/null 2>&1; then
      rm -rf .venv
      apt_install python3-venv
      python3 -m venv .venv
    fi
  fi
  local stamp=".venv/.smsdesk-installed${extras}"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "smsdesk: installing Python packages into .venv ..." >&2
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extras}"
    touch "$stamp"
  fi
}
