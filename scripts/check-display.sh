#!/usr/bin/env bash
# Called by `make run` with main.py's arguments: stop early, saying what to do, when the window
# cannot open because there is no display (instead of Qt's abort about the xcb plugin).
set -euo pipefail

for arg in "$@"; do
    case "$arg" in
        --headless|--help|-h|--list-devices) exit 0 ;;
    esac
done
[[ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]] && exit 0
case "${QT_QPA_PLATFORM:-}" in
    offscreen*|minimal*|vnc*|eglfs*|linuxfb*) exit 0 ;;
esac

cat >&2 <<'MSG'
make run: no display (neither DISPLAY nor WAYLAND_DISPLAY is set), so the window cannot open.
  Without a window, print levels and frequencies as JSON lines:
      make run ARGS="--headless"
  Or draw the window off screen and save a picture of it:
      QT_QPA_PLATFORM=offscreen make run ARGS="--duration 5 --screenshot shot.png"
  Or run it from a desktop session, or over ssh -X.
MSG
exit 1
