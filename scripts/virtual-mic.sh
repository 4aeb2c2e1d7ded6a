#!/usr/bin/env bash
# A virtual microphone for trying the monitor on a machine without a sound card (the same
# setup tests/conftest.py makes): a private PulseAudio daemon with a null sink whose monitor is
# the default source; whatever is played into the sink is what the monitor hears.
#
#   scripts/virtual-mic.sh start             start it; prints the PULSE_SERVER line to export
#   scripts/virtual-mic.sh play FILE [...]   play sound files into it (waits until played)
#   scripts/virtual-mic.sh stop              stop what start started (by PID)
#
# For example:  scripts/virtual-mic.sh start
#               export PULSE_SERVER=unix:/tmp/spectromon-vmic/native
#               make run ARGS="--device pulse" &
#               scripts/virtual-mic.sh play resources/demo.wav
set -euo pipefail

dir=${SPECTROMON_VMIC_DIR:-/tmp/spectromon-vmic}
export PULSE_SERVER="unix:$dir/native"

case "${1:-}" in
start)
    if [[ -f "$dir/daemon.pid" ]] && kill -0 "$(cat "$dir/daemon.pid")" 2>/dev/null; then
        echo "already running: export PULSE_SERVER=$PULSE_SERVER"; exit 0
    fi
    mkdir -p "$dir/home" "$dir/run"; chmod 700 "$dir/run"
    # --disable-shm: see tests/conftest.py (a libpulse deadlock when the server dies).
    env -u PULSE_SERVER HOME="$dir/home" XDG_RUNTIME_DIR="$dir/run" \
        pulseaudio -n --daemonize=no --exit-idle-time=-1 --use-pid-file=no --realtime=no \
        --high-priority=no --disable-shm=yes --log-target=stderr \
        -L "module-native-protocol-unix socket=$dir/native auth-anonymous=1" \
        -L "module-null-sink sink_name=vsink rate=48000 channels=1 sink_properties=device.description=Virtual_microphone" \
        >"$dir/pulseaudio.log" 2>&1 &
    echo $! >"$dir/daemon.pid"
    for _ in $(seq 100); do pactl info >/dev/null 2>&1 && break; sleep 0.1; done
    pactl info >/dev/null 2>&1 || { echo "PulseAudio did not start: see $dir/pulseaudio.log" >&2; exit 1; }
    pactl set-default-source vsink.monitor
    pactl set-sink-volume vsink 100%
    pactl set-source-volume vsink.monitor 100%
    # A reader kept on the monitor makes new recorders start at once (otherwise ~2 s).
    parec --device=vsink.monitor --latency-msec=10 >/dev/null 2>&1 &
    echo $! >"$dir/reader.pid"
    echo "virtual microphone running; in each shell that uses it:"
    echo "    export PULSE_SERVER=$PULSE_SERVER"
    ;;
play)
    shift
    for f in "$@"; do paplay --device=vsink "$f"; done
    ;;
stop)
    for name in reader daemon; do
        if [[ -f "$dir/$name.pid" ]]; then
            kill "$(cat "$dir/$name.pid")" 2>/dev/null || true
            rm -f "$dir/$name.pid"
        fi
    done
    ;;
*)
    sed -n '2,14p' "$0" >&2; exit 2 ;;
esac
