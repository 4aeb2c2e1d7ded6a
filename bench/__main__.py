"""``python -m bench [--quick] [--only NAME ...] [--soak] [--out PATH]``

Runs the benchmarks, prints the table and writes it to BENCHMARKS.md (with the machine, the
settings, and bench/findings.md: what the profiles showed and what changed).

- default: sections 1–6 (about 10 minutes; ``--quick`` about 3 minutes, for development);
- ``--soak``: only the 25-minute soak (section 7); its results replace the soak part of an
  existing BENCHMARKS.md and the rest of the file is kept. A default run likewise keeps the
  soak part.

A section that fails is reported as ERROR with the reason; the others still run. The exit
code is 0 when every section ran (targets missed or not: the table says which), 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback

from bench.report import Figure, flush, machine, render_markdown, render_text

SECTIONS = ("dsp", "render", "latency", "classifier", "app", "startup", "offline", "network",
            "long_session")
NEEDS_MIC = {"app", "startup", "soak"}
TITLES = {
    "dsp": "1. Streaming DSP throughput",
    "render": "2. Render cost (offscreen, 4 new columns per frame, painting included)",
    "latency": "4. Latency",
    "classifier": "5. Classifier",
    "app": "3. Whole app (virtual microphone, 48 kHz, n_fft 4096, hop 1024, mel, 10 s history, "
           "classifier on)",
    "startup": "6. Start-up (warm)",
    "soak": "7. Soak (25 min on the virtual microphone)",
    "offline": "8. Offline analysis (10 min 48 kHz file, n_fft 2048, hop 512, 128 mels, classifier off)",
    "network": "9. Network (MQTT, local Mosquitto)",
    "long_session": "10. Long sessions (synthetic 24 h session on disk, overview, open)",
}
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FINDINGS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "findings.md")
SOAK_START, SOAK_END = "<!-- soak:start -->", "<!-- soak:end -->"
ORDER = ["1.", "2.", "3.", "4.", "5.", "6.", "7.", "8.", "9.", "10."]


def _run_section(name: str, quick: bool) -> tuple[list[Figure], str]:
    import importlib

    module = importlib.import_module(f"bench.{name}")
    result = module.run(quick=quick, log=flush)
    if isinstance(result, tuple):
        return result
    return result, ""


def _soak_block(text: str) -> str:
    if SOAK_START in text and SOAK_END in text:
        return text[text.index(SOAK_START):text.index(SOAK_END) + len(SOAK_END)]
    return ""


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="shorter runs, fewer repeats (development)")
    p.add_argument("--soak", action="store_true", help="run only the 25-minute soak")
    p.add_argument("--only", nargs="+", choices=SECTIONS, help="run only these sections")
    p.add_argument("--out", default=os.path.join(REPO, "BENCHMARKS.md"),
                   help="Markdown output (default: BENCHMARKS.md); '-' for none")
    args = p.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if REPO not in sys.path:
        sys.path.insert(0, REPO)

    names = ["soak"] if args.soak else list(args.only or SECTIONS)
    figures: list[Figure] = []
    extras: list[str] = []
    failed = False
    mic = None
    started = time.monotonic()
    try:
        if NEEDS_MIC & set(names):
            from bench.audio import VirtualMic, programme

            problem = VirtualMic.problem()
            if problem:
                flush(f"no virtual microphone: {problem}")
            else:
                mic = VirtualMic().start()
                mic.play_loop(programme(os.path.join(mic.root, "programme.wav")))
        for name in names:
            flush(f"== {name} ==")
            t0 = time.monotonic()
            try:
                if name in NEEDS_MIC and mic is None:
                    raise RuntimeError("no PulseAudio virtual microphone (apt-get install pulseaudio "
                                       "pulseaudio-utils libasound2-plugins)")
                figs, extra = _run_section(name, args.quick)
                figures += figs
                if extra:
                    extras.append(extra)
            except Exception as exc:  # noqa: BLE001 - one broken section must not hide the rest
                failed = True
                traceback.print_exc()
                figures.append(Figure(TITLES[name], name, "", [], error=f"{type(exc).__name__}: {exc}"))
            flush(f"   ({time.monotonic() - t0:.0f} s)")
    finally:
        if mic is not None:
            mic.stop()

    figures.sort(key=lambda f: next((i for i, o in enumerate(ORDER) if f.section.startswith(o)), 99))
    text = render_text(figures)
    print("\n" + text)
    for extra in extras:
        print(extra)
    print(f"total {time.monotonic() - started:.0f} s")

    if args.out != "-":
        info = machine()
        settings = {
            "mode": ("soak" if args.soak else "quick (development; not for committing)" if args.quick
                     else "full"),
            "sections run": ", ".join(names),
            "audio": "48 kHz mono; DSP: a synthetic 60 s signal (noise + tones); app, start-up and "
                     "soak: real recordings (/work/shared/samples) looping into a PulseAudio null "
                     "sink read through PortAudio's ALSA 'pulse' device",
            "display": "QT_QPA_PLATFORM=offscreen (Qt's raster engine, no GPU)",
        }
        findings = open(FINDINGS).read() if os.path.exists(FINDINGS) else ""
        old = open(args.out).read() if os.path.exists(args.out) else ""
        if args.soak:
            soak_md = render_markdown(figures, {}, {}, "\n\n".join(extras))
            soak_md = soak_md[soak_md.index("## 7."):] if "## 7." in soak_md else soak_md
            block = (f"{SOAK_START}\n_Soak run {info['date']} (`make soak`)._\n\n{soak_md}{SOAK_END}")
            if _soak_block(old):
                out = old.replace(_soak_block(old), block)
            elif old:
                out = old.rstrip("\n") + "\n\n" + block + "\n"
            else:
                out = render_markdown([], info, settings) + "\n" + block + "\n"
        else:
            out = render_markdown(figures, info, settings)
            block = _soak_block(old) or (f"{SOAK_START}\n## 7. Soak\n\nNot run yet: `make soak`.\n"
                                         f"{SOAK_END}")
            out = out.rstrip("\n") + "\n\n" + block + "\n"
            if findings:
                out += "\n" + findings.strip() + "\n"
        with open(args.out, "w") as f:
            f.write(out)
        print(f"wrote {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
