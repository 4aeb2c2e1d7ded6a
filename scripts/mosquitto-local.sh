#!/usr/bin/env bash
# Start a local Mosquitto on 127.0.0.1 (port 1883, or $PORT) in the foreground; Ctrl-C stops it.
#
#   scripts/mosquitto-local.sh
#   spectromon --headless --generator sine:1000@-40 --publish mqtt://127.0.0.1/home --node kitchen
#   spectromon --subscribe mqtt://127.0.0.1/home
#
# The configuration is scripts/mosquitto-local.conf (anonymous, 127.0.0.1 only).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
conf="$here/mosquitto-local.conf"
if ! command -v mosquitto >/dev/null 2>&1 && [[ ! -x /usr/sbin/mosquitto ]]; then
    echo "mosquitto-local: no mosquitto; install it with: sudo apt-get install -y mosquitto" >&2
    exit 2
fi
broker=$(command -v mosquitto || echo /usr/sbin/mosquitto)
port=${PORT:-1883}
if [[ "$port" != 1883 ]]; then
    [[ "$port" =~ ^[0-9]+$ ]] || { echo "mosquitto-local: PORT must be a number" >&2; exit 2; }
    tmp=$(mktemp)
    trap 'rm -f "$tmp"' EXIT
    sed "s/^listener 1883 127.0.0.1$/listener $port 127.0.0.1/" "$conf" > "$tmp"
    conf=$tmp
fi
echo "mosquitto-local: broker on 127.0.0.1:$port (Ctrl-C stops it)" >&2
"$broker" -c "$conf" &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -f "${tmp:-}"' EXIT INT TERM
wait "$pid"
