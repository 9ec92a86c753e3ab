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

# ensure_python_packages EXTRAS: installs this project (editable) with the given extras.
ensure_python_packages() {
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore -e ".[$1]"
}
