#!/usr/bin/env bash
# Installs what a fresh Debian/Ubuntu machine lacks for vjgan, idempotently:
#   1. system packages (PortAudio for sounddevice, Mesa EGL for headless GL; with "test": the
#      JACK dummy server and Xvfb used by the capture and window tests)
#   2. a virtual environment in .venv with torch pinned in the same pip command as the rest
# Re-running is quick: packages are checked before apt runs, and pip is skipped while the
# recorded fingerprint of pyproject.toml and this script is unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${1:-run}"
PYTHON="${PYTHON:-python3}"
TORCH_PIN="torch==2.13.0"

apt_pkgs=(libportaudio2 libegl1 libegl-mesa0 libgl1-mesa-dri)
if [ "$mode" = "test" ]; then
  apt_pkgs+=(jackd2 xvfb)
fi

missing=()
for pkg in "${apt_pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if ! "$PYTHON" -c "import ensurepip, venv" 2>/dev/null; then
  missing+=(python3-venv)
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "vjgan setup: installing system packages: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "vjgan setup: Python 3.11 or newer is needed ($PYTHON is $("$PYTHON" --version 2>&1)); set PYTHON=python3.11" >&2
  exit 1
fi

if [ ! -x .venv/bin/python ]; then
  echo "vjgan setup: creating .venv"
  "$PYTHON" -m venv .venv
fi

extras="."
if [ "$mode" = "test" ]; then extras=".[test]"; fi
stamp=".venv/.vjgan-setup-$mode"
fingerprint="$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$fingerprint" ]; then
  echo "vjgan setup: installing Python packages into .venv (first time: a few minutes)"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q "$TORCH_PIN" -e "$extras"
  echo "$fingerprint" > "$stamp"
fi
