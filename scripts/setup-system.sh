#!/usr/bin/env bash
# Install the Debian/Ubuntu packages the monitor needs, when they are missing and we may.
#
#   scripts/setup-system.sh venv    python3-venv (only called when `python3 -m venv` failed)
#   scripts/setup-system.sh run     PortAudio; with a display also the Qt xcb libraries
#   scripts/setup-system.sh test    run + PulseAudio, Xvfb, espeak-ng, sox, Mosquitto and the xcb libraries
#   scripts/setup-system.sh bench   like test (the benchmarks drive the same services)
#
# "May" means: we are root, or sudo works without a password. Otherwise the exact apt-get line
# is printed and the script succeeds anyway, so that `make` goes on with what is there.
# `apt-get update` runs only when an install fails without it (a fresh image has no lists).
set -euo pipefail

what=${1:-run}

PORTAUDIO=(libportaudio2)
QT_XCB=(libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxkbcommon-x11-0 libxcb-image0
        libxcb-render-util0 libxcb-xinerama0 libxcb-randr0 libxcb-shape0 libxcb-xkb1
        libegl1 libgl1 libfontconfig1 libdbus-1-3)
SERVICES=(pulseaudio pulseaudio-utils libasound2-plugins xvfb espeak-ng sox mosquitto)

case "$what" in
    venv) wanted=(python3-venv) ;;
    run)
        wanted=("${PORTAUDIO[@]}")
        if [[ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]]; then wanted+=("${QT_XCB[@]}"); fi ;;
    test|bench) wanted=("${PORTAUDIO[@]}" "${QT_XCB[@]}" "${SERVICES[@]}") ;;
    *) echo "usage: $0 venv|run|test|bench" >&2; exit 2 ;;
esac

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "setup-system: not a Debian/Ubuntu system; make sure these (or your distribution's" \
         "equivalents) are installed: ${wanted[*]}" >&2
    exit 0
fi

missing=()
for pkg in "${wanted[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -eq 0 ]]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
else
    echo "setup-system: missing system packages; install them with:" >&2
    echo "    sudo apt-get install -y ${missing[*]}" >&2
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
install=("${as_root[@]}" env DEBIAN_FRONTEND=noninteractive
         apt-get install -y -q --no-install-recommends "${missing[@]}")
log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "setup-system: installing ${missing[*]}"
if ! "${install[@]}" >"$log" 2>&1; then
    echo "setup-system: first attempt failed; running apt-get update and trying again"
    "${as_root[@]}" apt-get update -q >/dev/null 2>&1 || true
    if ! "${install[@]}" >"$log" 2>&1; then
        tail -n 20 "$log" >&2
        echo "setup-system: could not install ${missing[*]} (log above); going on without" >&2
    fi
fi
