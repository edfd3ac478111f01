#!/usr/bin/env bash
# Installs what nodecompute needs on a Debian host: apt packages, then a virtualenv in .venv with the project.
#   scripts/setup.sh          daemon packages only
#   scripts/setup.sh --test   also what the test suite needs (test guest build tools, cloud-init's reader, clients)
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

packages=$(grep -v '^#' scripts/apt-daemon.txt)
[ "$want_test" = 1 ] && packages="$packages $(grep -v '^#' scripts/apt-test.txt)"

missing=()
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    echo "setup: installing apt packages: ${missing[*]}"
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# libvirt's QEMU driver (also under qemu:///embed) looks up the account it was built to run QEMU as;
# Debian creates it in libvirt-daemon-system, which we do not need (no libvirtd), so make it here.
if ! getent passwd libvirt-qemu >/dev/null; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    getent group kvm >/dev/null || $sudo groupadd --system kvm
    $sudo useradd --system --user-group --no-create-home --home-dir /var/lib/libvirt \
        --shell /usr/sbin/nologin --groups kvm libvirt-qemu
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$python" -c 'import sys; assert sys.version_info >= (3, 11), "nodecompute needs Python 3.11 or newer"'
    "$python" -m venv .venv
fi
extras=""
stamp=".venv/.installed"
if [ "$want_test" = 1 ]; then
    extras="[test]"
    stamp=".venv/.installed-test"
fi
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/pip install -q --upgrade pip
    .venv/bin/pip install -q -e ".$extras"
    touch "$stamp"
fi
