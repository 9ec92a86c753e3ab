# shellcheck shell=bash
# Shared helpers of the project's scripts (sourced, not run).

# ensure_apt_packages PKG...: installs the Debian packages that are missing (needs root).
ensure_apt_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  echo "installing Debian packages: ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The project's virtual environment: every script installs into it and runs from it, so the
# system's Python stays untouched (Debian's refuses pip outside one: PEP 668).
VENV="${VENV:-.venv}"

# ensure_venv: creates $VENV from the first python3 on PATH (installing Debian's python3 and
# python3-venv when python3 or its venv module is missing), then puts $VENV/bin first on PATH.
ensure_venv() {
  if [[ ! -x "$VENV/bin/python" ]]; then
    if ! command -v python3 >/dev/null 2>&1; then
      ensure_apt_packages python3 python3-venv
    fi
    if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
      ensure_apt_packages python3-venv
    fi
    echo "creating the virtual environment $VENV ($(python3 --version))" >&2
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
  fi
  VIRTUAL_ENV="$(cd "$VENV" && pwd)"
  export VIRTUAL_ENV
  export PATH="$VIRTUAL_ENV/bin:$PATH"
}

# ensure_python_packages EXTRAS: installs this project (editable) with the given extras into
# the virtual environment.
ensure_python_packages() {
  ensure_venv
  python -m pip install -q --disable-pip-version-check -e ".[$1]"
}
