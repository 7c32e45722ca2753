#!/usr/bin/env bash
# Installs everything tf-dcgan needs on a fresh Debian/Ubuntu machine with Python 3.11:
# Debian's Fashion-MNIST files (the offline default dataset), a virtual environment in .venv,
# the LiteRT.js runtime that export.py --web copies into the page (npm ci, into node_modules), and
# Debian's Chromium with its WebDriver, which the tests drive to check that page.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

packages="dataset-fashion-mnist chromium chromium-driver"
# Debian's python3 needs python3-venv for `python3 -m venv` (with pip); pyenv builds have it.
if ! command -v python3 >/dev/null; then packages="$packages python3 python3-venv"
elif ! python3 -c "import venv, ensurepip" 2>/dev/null; then packages="$packages python3-venv"; fi
if ! command -v npm >/dev/null; then packages="$packages nodejs npm"; fi
if ! dpkg -s $packages >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $packages
fi

if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r requirements-dev.txt
.venv/bin/python -m pip install -q --no-deps -e .
# The gRPC client example's protos. --no-deps: the package asks for the full `tensorflow`, which
# would install a second TensorFlow next to tensorflow-cpu; grpcio and protobuf come with it already.
.venv/bin/python -m pip install -q --no-deps tensorflow-serving-api==2.21.0
# The web page's runtime, exactly the versions in package-lock.json.
npm ci --no-audit --no-fund --loglevel=error
