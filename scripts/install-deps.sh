#!/usr/bin/env bash
# Installs the Debian packages the suite builds and runs with. Run as root (make runs it for you when a
# dependency is missing and you are root).
set -eu
pkgs=(build-essential libopenblas-openmp-dev libcjson-dev libpapi-dev papi-tools gnuplot-nox)
if [ "$(id -u)" != 0 ]; then
    echo "run as root: apt-get update && apt-get install -y ${pkgs[*]}" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
echo "installed: ${pkgs[*]}"
