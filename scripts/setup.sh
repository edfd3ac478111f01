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

# noVNC, which the console proxy serves: Debian's novnc package, downloaded and unpacked WITHOUT its dependencies
# (nodejs, websockify, numpy are for its own proxy, which nodecompute replaces), never fetched at run time.
# It lands in .venv/share/novnc ([console] novnc_dir's default). Cached: the .deb is kept next to it, and nothing is
# fetched again while the unpacked version matches apt's candidate (read from the local package lists, offline).
install_novnc() {
    local dest=.venv/share/novnc cache=.venv/share/novnc-deb candidate deb work
    candidate=$(apt-cache policy novnc 2>/dev/null | awk '/Candidate:/ {print $2}')
    if [ -z "$candidate" ] || [ "$candidate" = "(none)" ]; then
        [ -f "$dest/vnc_lite.html" ] && return 0
        sudo=""
        [ "$(id -u)" = 0 ] || sudo="sudo"
        $sudo apt-get update -q
        candidate=$(apt-cache policy novnc | awk '/Candidate:/ {print $2}')
    fi
    [ "$(cat "$dest/.deb-version" 2>/dev/null)" = "$candidate" ] && return 0
    mkdir -p "$cache"
    deb="$cache/novnc_${candidate#*:}_all.deb"
    if [ ! -f "$deb" ]; then
        work=$(mktemp -d)
        sandbox=()
        [ "$(id -u)" = 0 ] && sandbox=(-o APT::Sandbox::User=root)
        (cd "$work" && apt-get download -q "${sandbox[@]}" "novnc=$candidate") >/dev/null
        mv "$work"/novnc_*.deb "$deb.part" && mv "$deb.part" "$deb"
        rm -rf "$work"
    fi
    work=$(mktemp -d)
    dpkg-deb -x "$deb" "$work"
    # Only what a browser loads: the pages, app/, core/, vendor/; not the upstream proxy scripts in utils/.
    rm -rf "$work/usr/share/novnc/utils" "$work/usr/share/novnc/vnc_auto.html"
    cp "$work/usr/share/doc/novnc/copyright" "$work/usr/share/novnc/COPYRIGHT.debian"
    echo "$candidate" >"$work/usr/share/novnc/.deb-version"
    rm -rf "$dest.new" && mv "$work/usr/share/novnc" "$dest.new" && rm -rf "$dest" && mv "$dest.new" "$dest"
    rm -rf "$work"
    echo "setup: noVNC $candidate unpacked into $dest"
}
install_novnc
