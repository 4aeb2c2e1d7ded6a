"""Figures, their statistics and targets, the machine description, and the Markdown table.

Every benchmark module returns a list of :class:`Figure` s. A figure is the median of several
runs, with min and max, and (where one exists) the median of a baseline measured in the same
run of the same process, so that the ratio stays meaningful on a noisy shared machine.
"""

from __future__ import annotations

import datetime
import os
import platform
import statistics
import sys
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

__all__ = ["Figure", "Target", "stats", "machine", "render_markdown", "render_text"]


@dataclass(frozen=True)
class Target:
    """A target a figure must meet: ``value <op> limit``.

    Parameters
    ----------
    op : {'<=', '>=', '=='}
    limit : float
    text : str
        How the target reads in the table, e.g. "≤ 3 ms".
    on : {'value', 'ratio'}
        What is judged: the median, or the median divided by the baseline's median.
    """

    op: str
    limit: float
    text: str
    on: str = "value"  # 'value': the figure's median; 'ratio': its ratio to the baseline

    def met(self, value: float) -> bool:
        if self.op == "<=":
            return value <= self.limit
        if self.op == ">=":
            return value >= self.limit
        return value == self.limit

    def miss(self, value: float) -> str:
        """How far ``value`` is from the target, in words (empty when met)."""
        if self.met(value):
            return ""
        if self.op == "==":
            return f"is {value:g}, must be {self.limit:g}"
        if self.limit == 0:
            return f"over by {value:g}"
        if self.on == "ratio":
            return f"ratio {value:.2f}"
        if self.op == "<=":
            return f"{value / self.limit:.2f}× the limit (+{value - self.limit:.3g})"
        return f"{value / self.limit:.2f}× the target ({value - self.limit:+.3g})"


@dataclass
class Figure:
    """One measured quantity.

    ``values`` are the individual runs; the table shows their median, min and max. The
    baseline (if any) is the median of ``baseline_values``; ``ratio`` is figure / baseline.
    """

    section: str
    name: str
    unit: str
    values: list
    baseline_name: str = ""
    baseline_values: list = field(default_factory=list)
    target: Optional[Target] = None
    note: str = ""
    error: str = ""  # the measurement failed: why

    @property
    def median(self) -> float:
        return statistics.median(self.values) if self.values else float("nan")

    @property
    def baseline(self) -> float:
        return statistics.median(self.baseline_values) if self.baseline_values else float("nan")

    @property
    def ratio(self) -> float:
        b = self.baseline
        return self.median / b if self.baseline_values and b else float("nan")

    @property
    def verdict(self) -> str:
        if self.error:
            return "ERROR"
        if self.target is None or not self.values:
            return ""
        return "pass" if self.target.met(self.judged) else "MISS"

    @property
    def judged(self) -> float:
        """The number the target is about: the median or the ratio."""
        return self.ratio if self.target is not None and self.target.on == "ratio" else self.median


def stats(values: Sequence[float]) -> tuple[float, float, float]:
    """(median, min, max) of ``values``."""
    return statistics.median(values), min(values), max(values)


def _fmt(x: float) -> str:
    if x != x:  # NaN
        return "–"
    ax = abs(x)
    if ax == 0:
        return "0"
    if ax >= 1000:
        return f"{x:,.0f}"
    if ax >= 100:
        return f"{x:.0f}"
    if ax >= 10:
        return f"{x:.1f}"
    if ax >= 1:
        return f"{x:.2f}"
    return f"{x:.3g}"


def _versions() -> dict:
    out = {"Python": platform.python_version()}

    def add(name: str, get: Callable[[], str]) -> None:
        try:
            out[name] = get()
        except Exception:  # noqa: BLE001 - a missing package is reported, not fatal
            out[name] = "not installed"

    add("numpy", lambda: __import__("numpy").__version__)
    add("scipy", lambda: __import__("scipy").__version__)
    add("librosa", lambda: __import__("librosa").__version__)
    add("Qt", lambda: __import__("PyQt6.QtCore", fromlist=["QT_VERSION_STR"]).QT_VERSION_STR)
    add("PyQt6", lambda: __import__("PyQt6.QtCore", fromlist=["PYQT_VERSION_STR"]).PYQT_VERSION_STR)
    add("pyqtgraph", lambda: __import__("pyqtgraph").__version__)
    add("onnxruntime", lambda: __import__("onnxruntime").__version__)
    add("sounddevice", lambda: __import__("sounddevice").__version__)
    add("psutil", lambda: __import__("psutil").__version__)
    return out


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict:
    """What the numbers were measured on."""
    info = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(),
        "cores": str(os.cpu_count()),
        "os": f"{platform.system()} {platform.release()}",
    }
    try:
        import psutil

        info["memory"] = f"{psutil.virtual_memory().total / 2 ** 30:.1f} GiB"
        info["load average (1, 5, 15 min)"] = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except Exception:  # noqa: BLE001
        pass
    info.update(_versions())
    return info


_HEAD = ("Figure", "Median", "Min", "Max", "Unit", "Baseline (median)", "Ratio", "Target", "Result")


def _rows(figures: Sequence[Figure]) -> list[tuple]:
    rows = []
    for f in figures:
        if f.error:
            rows.append((f.name, "–", "–", "–", f.unit, "–", "–",
                         f.target.text if f.target else "", f"ERROR: {f.error}"))
            continue
        med, lo, hi = stats(f.values) if f.values else (float("nan"),) * 3
        base = f"{_fmt(f.baseline)} ({f.baseline_name})" if f.baseline_values else ""
        ratio = _fmt(f.ratio) if f.baseline_values else ""
        result = f.verdict
        if result == "MISS":
            result += f": {f.target.miss(f.judged)}"
        rows.append((f.name, _fmt(med), _fmt(lo), _fmt(hi), f.unit, base, ratio,
                     f.target.text if f.target else "", result))
    return rows


def render_markdown(figures: Sequence[Figure], info: dict, settings: dict, notes: str = "") -> str:
    """The whole BENCHMARKS.md text."""
    out = ["# Benchmarks", "",
           "Generated by `make bench` (`python -m bench`); do not edit by hand. Each figure is the "
           "median of several runs (min and max beside it); the baseline is measured in the same "
           "run, so the ratio is the number to compare across machines. CPU figures are process "
           "CPU time (all threads), not wall time.", "", "## Machine", ""]
    out += [f"- **{k}**: {v}" for k, v in info.items()]
    out += ["", "## Settings", ""]
    out += [f"- **{k}**: {v}" for k, v in settings.items()]
    sections: dict[str, list[Figure]] = {}
    for f in figures:
        sections.setdefault(f.section, []).append(f)
    for section, figs in sections.items():
        out += ["", f"## {section}", "", "| " + " | ".join(_HEAD) + " |",
                "|" + "|".join("---" for _ in _HEAD) + "|"]
        out += ["| " + " | ".join(str(c).replace("|", "/") for c in row) + " |" for row in _rows(figs)]
        figure_notes = [f"- *{f.name}*: {f.note}" for f in figs if f.note]
        if figure_notes:
            out += [""] + figure_notes
    if notes:
        out += ["", notes.rstrip()]
    return "\n".join(out) + "\n"


def render_text(figures: Sequence[Figure]) -> str:
    """A plain fixed-width table for stdout."""
    rows = [_HEAD] + _rows(figures)
    widths = [min(48, max(len(str(r[i])) for r in rows)) for i in range(len(_HEAD))]
    lines = []
    section = None
    for f, row in zip([None] + list(figures), rows):
        if f is not None and f.section != section:
            section = f.section
            lines.append(f"\n== {section} ==")
        lines.append("  ".join(str(c).ljust(w) if i < len(row) - 1 else str(c)
                               for i, (c, w) in enumerate(zip(row, widths))))
    return "\n".join(lines).lstrip("\n") + "\n"


def flush(text: str) -> None:
    """Print progress at once (the suite takes minutes)."""
    print(text, flush=True)
    sys.stdout.flush()
