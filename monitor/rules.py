"""The rules that fit the user's choices to a source, written once.

The session applies them at the start and at every later change (``monitor.session``); the
saved settings are cleaned with them before anything opens.
"""

from __future__ import annotations

import dataclasses
from typing import Iterable, Optional

from monitor.dsp.mel import empty_filters
from monitor.errors import ParameterError
from monitor.settings import FIELDS, SOURCE_FIELDS, Settings, field_spec, hop_min

__all__ = ["fit_settings", "usable_n_mels", "clean_saved", "merge_choices", "SOURCE_IDENTITY"]

# Fields that name the source: giving any of them on the command line replaces the saved source.
SOURCE_IDENTITY = ("device", "input", "generator")


def usable_n_mels(settings: Settings, samplerate: float) -> Optional[int]:
    """The largest n_mels up to ``settings.n_mels`` whose mel filters all catch an FFT bin at
    ``samplerate`` (Hz), or None when even one band would be empty."""
    fmax = settings.fmax_for(samplerate)

    def ok(n: int) -> bool:
        return empty_filters(samplerate, settings.n_fft, n, settings.fmin, fmax, settings.htk) == 0

    if ok(settings.n_mels):
        return settings.n_mels
    if not ok(1):
        return None
    lo, hi = 1, settings.n_mels  # ok(lo), not ok(hi): bisect the largest usable count
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if ok(mid) else (lo, mid)
    return lo


def fit_settings(choices: dict, samplerate: Optional[float] = None,
                 channels: Optional[int] = None, strict: Iterable[str] = ()
                 ) -> tuple[Settings, dict[str, str]]:
    """The settings in force for the user's ``choices`` on a source of ``samplerate`` Hz and
    ``channels`` channels. The one place of the rules that depend on the source.

    - **hop** follows n_fft (n_fft/4, 75 % overlap) unless the user chose one; a chosen hop
      that no longer fits n_fft is replaced by n_fft/4 for as long as it does not fit.
    - **frequency range**: fmin/fmax beyond the source's Nyquist frequency go back to
      0 Hz … Nyquist.
    - **mel bands** are lowered until no mel filter is empty.
    - **channel**: a channel beyond the source's goes back to the mono mix.

    Parameters
    ----------
    choices : dict
        Settings fields the user chose (saved, on the command line, in the window); the
        others take their defaults.
    samplerate : float, optional
        Hz, of the open source; None checks only what does not depend on it.
    channels : int, optional
        Channels of the open source.
    strict : iterable of str
        Fields given in this very request: refused instead of adapted.

    Returns
    -------
    settings : Settings
    notes : dict
        ``{rule: one line}`` for each adaptation made (``'hop'``, ``'range'``, ``'n_mels'``,
        ``'channel'``).

    Raises
    ------
    ParameterError
        A strict value that does not fit, or a value no rule can adapt.
    """
    strict = frozenset(strict)
    values = dict(choices)
    notes: dict[str, str] = {}
    n_fft = values.get("n_fft", field_spec("n_fft").default)
    auto_hop = max(1, n_fft // 4) if isinstance(n_fft, int) else None
    hop = values.get("hop")
    if hop is None:
        values["hop"] = auto_hop
    elif ("hop" not in strict and isinstance(n_fft, int) and isinstance(hop, int)
          and not hop_min(n_fft) <= hop <= n_fft):
        values["hop"] = auto_hop
        notes["hop"] = f"hop {hop} does not fit n_fft {n_fft}: using {auto_hop} (n_fft/4)"
    settings = Settings(**values).validate()
    if samplerate is None:
        return settings, notes

    nyquist = samplerate / 2
    fmax = settings.fmax_for(samplerate)
    if fmax > nyquist + 1e-9 or settings.fmin >= fmax:
        chosen = {k: getattr(settings, k) for k in ("fmin", "fmax")
                  if k in choices and choices[k] != field_spec(k).default}
        if strict & chosen.keys() or not chosen:
            if settings.fmax is not None and settings.fmax > nyquist + 1e-9:
                raise ParameterError(f"fmax {settings.fmax:g} Hz is above the Nyquist frequency "
                                     f"{nyquist:g} Hz of {samplerate:g} Hz audio")
            raise ParameterError(f"fmin ({settings.fmin:g} Hz) must be below fmax ({fmax:g} Hz) "
                                 f"for {samplerate:g} Hz audio")
        settings = dataclasses.replace(settings, fmin=0.0, fmax=None)
        what = " and ".join(f"{k} {v:g} Hz" for k, v in chosen.items())
        notes["range"] = (f"{what} {'does' if len(chosen) == 1 else 'do'} not fit {samplerate:g} Hz "
                          f"audio: frequency range reset to 0 … {nyquist:g} Hz")

    usable = usable_n_mels(settings, samplerate)
    chosen = {k for k in ("fmin", "fmax") if k in choices and choices[k] != field_spec(k).default}
    if usable is None and chosen and not strict & chosen:
        # A range too narrow for even one band (a saved fmax of 1 Hz): the range gives way.
        what = " and ".join(f"{k} {getattr(settings, k):g} Hz" for k in sorted(chosen))
        settings = dataclasses.replace(settings, fmin=0.0, fmax=None)
        notes["range"] = (f"{what}: too narrow for one mel band at n_fft {settings.n_fft}; "
                          f"frequency range reset to 0 … {nyquist:g} Hz")
        usable = usable_n_mels(settings, samplerate)
    if usable != settings.n_mels:
        if "n_mels" in strict or usable is None:
            fmax = settings.fmax_for(samplerate)
            raise ParameterError(
                f"n_mels {settings.n_mels} is too many for n_fft {settings.n_fft} between "
                f"{settings.fmin:g} and {fmax:g} Hz: mel filters would be empty (use fewer "
                f"mels or a larger n_fft)")
        notes["n_mels"] = (f"n_mels lowered from {settings.n_mels} to {usable}: more would leave "
                           f"mel filters empty at n_fft {settings.n_fft} (back when they fit)")
        settings = dataclasses.replace(settings, n_mels=usable)

    if channels is not None and settings.channel is not None and settings.channel > channels:
        if "channel" in strict:
            raise ParameterError(f"channel {settings.channel} is beyond the {channels} "
                                 f"channel(s) of the input")
        notes["channel"] = (f"channel {settings.channel} is beyond the input's {channels}: "
                            f"analysing the mono mix")
        settings = dataclasses.replace(settings, channel=None)
    return settings, notes


def clean_saved(saved: dict, given: Optional[dict] = None) -> tuple[dict, list[str]]:
    """The saved fields that are valid (alone, and beside the command line's ``given``), and
    one line for each one dropped.

    A bad saved value (a threshold of 5, an fps of 1e308, a field that no longer exists, a
    saved fmin above the fmax given now) is dropped alone: every other saved preference is kept.
    """
    given = given or {}
    kept: dict = {}
    dropped: list[str] = []
    names = {f.name for f in FIELDS if f.persist}
    for name, value in saved.items():
        if name not in names:
            continue  # an old or a run-only field: not a preference
        try:
            field_spec(name).check(value)
        except ParameterError as exc:
            dropped.append(f"saved {name} dropped ({exc})")
            continue
        kept[name] = value
    # Rules between fields (fmin < fmax, floor < ceiling, ...): drop one saved value at a time.
    while kept:
        try:
            fit_settings(merge_choices(kept, given))
            break
        except ParameterError as exc:
            for name in list(kept):
                trial = {k: v for k, v in kept.items() if k != name}
                try:
                    fit_settings(merge_choices(trial, given))
                except ParameterError:
                    continue
                dropped.append(f"saved {name} dropped ({exc})")
                kept = trial
                break
            else:
                dropped.append(f"saved settings dropped ({exc})")
                kept = {}
    return kept, dropped


def merge_choices(saved: dict, given: dict) -> dict:
    """The command line's fields over the saved ones. Naming a source on the command line
    (device, file or generator) drops every saved source field: the saved device's rate or
    channel must not apply to another input."""
    if any(k in given for k in SOURCE_IDENTITY):
        saved = {k: v for k, v in saved.items() if k not in SOURCE_FIELDS}
    return {**saved, **given}
