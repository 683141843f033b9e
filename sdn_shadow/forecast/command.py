"""`sdn-shadow forecast backtest`: read a series, run the backtest, print a table or JSON."""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import replace
from pathlib import Path
from typing import TextIO

import numpy as np
from numpy.typing import NDArray

from sdn_shadow.forecast.backtest import (
    BASELINES,
    MAX_CALENDAR_TERMS,
    MODEL,
    BacktestError,
    BacktestReport,
    BacktestSetup,
    Selection,
    calendar_text,
    run_backtest,
)
from sdn_shadow.forecast.horizons import (
    PEERS,
    find_period,
    format_horizons,
    parse_horizons,
    run_horizons,
)
from sdn_shadow.forecast.peer import PeerUnavailable, require_lightgbm
from sdn_shadow.forecast.series_csv import SeriesFileError, read_series_csv
from sdn_shadow.usage import UsageError

EXIT_INVALID = 2

_UNITS = {"s": 1.0, "sec": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
MAX_DIGITS = 40
_LENGTH = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*([a-z]*)\s*$")


def steps(option: str, text: str, step_seconds: float | None, whole: bool = False) -> int:
    """Steps from `text`: a count ("12") or a duration ("6h", "30min", "1d", "90s").

    Durations round up to whole steps of the series, or with `whole` must be
    a whole number of steps (a period).
    """
    match = _LENGTH.match(text.lower())
    if not match or match.group(2) not in {"", *_UNITS}:
        raise UsageError(f"{option} {text!r}: expected a number of steps or a duration "
                         f"like 30min, 6h, 1d")
    digits, unit = match.group(1), match.group(2)
    if len(digits) > MAX_DIGITS:  # no series is that long; 309+ digits overflow a float
        raise UsageError(f"{option}: too large: a number of {len(digits)} characters")
    number = float(digits)
    if not unit:
        if number != int(number):
            raise UsageError(f"{option} {text!r}: a number of steps must be whole")
        count = int(digits) if "." not in digits else int(number)
    else:
        if step_seconds is None or not step_seconds > 0:
            raise UsageError(f"{option} {text!r}: a duration needs timestamps with a step")
        exact = number * _UNITS[unit] / step_seconds
        if whole and abs(exact - round(exact)) > 1e-6 * max(1.0, exact):
            raise UsageError(f"{option} {text!r}: not a whole number of "
                             f"{_seconds_text(step_seconds)} steps")
        count = round(exact) if whole else math.ceil(exact - 1e-9)
    if count < 1:
        raise UsageError(f"{option} {text!r}: must be at least 1 step")
    return count


def fraction(option: str, text: str) -> float:
    """A number strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{option} {text!r}: not a number") from None
    if not 0 < value < 1:
        raise UsageError(f"{option} {text!r}: must be between 0 and 1 (exclusive)")
    return value


def step_of(times: NDArray[np.float64]) -> float | None:
    """The series' step in seconds: the median gap between timestamps."""
    return float(np.median(np.diff(times))) if times.size > 1 else None


def format_table(report: BacktestReport, title: str) -> str:
    """The terminal table: one line per forecaster."""
    setup = report.setup
    lines = [
        f"{title}: {report.points} points, test set the last {report.test_points} "
        f"(from index {report.test_start}), horizon {setup.horizon}, period {setup.period}, "
        f"level {setup.level:g}, {report.refits} refits every {setup.refit_every} steps",
        f"{'model':<16}{'MAPE %':>10}{'RMSE':>14}{'MAE':>14}{'coverage':>10}{'width':>14}",
    ]
    for name in (MODEL, *BASELINES):
        s = report.scores[name]
        extra = ("" if s.coverage is None
                 else f"{s.coverage:>10.3f}{s.interval_width:>14.6g}")
        lines.append(f"{name:<16}{s.mape:>10.2f}{s.rmse:>14.6g}{s.mae:>14.6g}{extra}")
    if report.zero_targets:
        lines.append(f"({report.zero_targets} zero targets left out of MAPE)")
    return "\n".join(lines)


def model_lines(setup: BacktestSetup) -> list[str]:
    """A `model:` line naming the settings given beyond the defaults (none if none were)."""
    parts = []
    if setup.point != "median":
        parts.append(f"point {setup.point}")
    if setup.huber is not None:
        parts.append(f"huber {setup.huber:g}")
    if setup.daily_terms or setup.weekly_terms:
        parts.append(f"calendar {calendar_text(setup.daily_terms, setup.weekly_terms)}")
    if not setup.recalibrate:
        parts.append("intervals not recalibrated")
    if setup.select:
        parts.append("calendar terms and window chosen per series on the training part")
    return [f"model: {', '.join(parts)}"] if parts else []


def chosen_line(selection: Selection) -> str:
    """The `chosen:` line: the settings the training part chose, and by what margin."""
    scores = {json.dumps(c, sort_keys=True): m for c, m in selection.tried}
    best = scores.get(json.dumps(selection.chosen, sort_keys=True))
    given = scores.get("{}")
    if best is None:
        return "chosen: the given settings (no candidate could be validated)"
    what = selection.describe() if selection.chosen else "the given settings"
    text = f"chosen: {what} (validation MAPE {best:.2f}%"
    if selection.chosen and given is not None:
        text += f", the given settings {given:.2f}%"
    count = len(selection.tried)
    return text + f"; {count} candidate{'' if count == 1 else 's'} tried)"


class Progress:
    """Refit progress on a stream, at most once a second and only once a run takes a second."""

    def __init__(self, stream: TextIO, what: str = "refits") -> None:
        self.stream = stream
        self.what = what
        self.started = self.last = time.monotonic()
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        """Show `done` of `total` refits if a second has passed since the last line."""
        now = time.monotonic()
        too_soon = now - self.last < 1.0 and done < total
        quick_run = not self.shown and now - self.started < 1.0
        if too_soon or quick_run:
            return
        self.last, self.shown = now, True
        end = "\n" if done == total or not self.stream.isatty() else "\r"
        print(f"backtest: {done}/{total} {self.what} ({100 * done // total}%)", end=end,
              file=self.stream, flush=True)


def backtest_command(csv_path: str, horizon: str | None, period: str | None, level: str,
                     train_fraction: str, json_out: str | None, refit_every: str,
                     window: str, seasons: str, out: TextIO, err: TextIO, *,
                     horizons: str | None = None, peer: str | None = None,
                     point: str = "median", huber: str | None = None,
                     calendar: str | None = None, select: bool = False) -> int:
    """Run the command; 0 on success, 2 with one line on `err` for bad input.

    `period` is a hint: the period used is the data's (see `period`), and the
    output says which and why. `horizons` ("1-24", "1,6,12") runs one backtest
    per horizon; `peer` ("gbm") adds the LightGBM lag model's MAPE; `point`
    ("median" or "mape") is the model's point forecast; `calendar`
    ("daily=2,weekly=1") adds time-of-day and day-of-week terms; `select`
    chooses the calendar terms and window per series on the training part.
    """
    try:
        times, values = read_series_csv(csv_path)
        step = step_of(times)
        if horizon is None and horizons is None:
            raise UsageError("give --horizon H or --horizons 1-24")
        if peer is not None and peer not in PEERS:
            raise UsageError(f"--peer {peer!r}: expected one of {', '.join(PEERS)}")
        if peer is not None:
            require_lightgbm()
        hint = None if period is None else steps("--period", period, step, whole=True)
        daily, weekly = (0, 0) if calendar is None else calendar_terms(calendar)
        setup = BacktestSetup(
            horizon=1 if horizon is None else steps("--horizon", horizon, step),
            period=hint or 1,
            level=fraction("--level", level),
            train_fraction=fraction("--train-fraction", train_fraction),
            refit_every=steps("--refit-every", refit_every, step),
            window=steps("--window", window, None),
            n_periods=_count("--seasons", seasons),
            point=point,
            huber=None if huber is None else _positive("--huber", huber),
            daily_terms=daily,
            weekly_terms=weekly,
            select=select,
        )
        wanted = None if horizons is None else _horizons(horizons)
        finding = find_period(values, hint)
        if wanted is None and peer is None:
            report = run_backtest(values, replace(setup, period=finding.period), Progress(err))
            data = {"file": str(csv_path), "step_seconds": step, **report.to_dict(),
                    "period_finding": finding.to_dict()}
            text = "\n".join([format_table(report, Path(csv_path).name),
                              f"period: {finding.reason}", *model_lines(report.setup),
                              *([] if report.selection is None
                                else [chosen_line(report.selection)])])
        else:
            many = run_horizons(values, times, setup, wanted or [setup.horizon], finding, peer,
                                Progress(err, "horizons"))
            data = {"file": str(csv_path), "step_seconds": step, **many.to_dict()}
            text = "\n".join([format_horizons(many, Path(csv_path).name),
                              *model_lines(many.reports[0].setup)])
    except (SeriesFileError, UsageError) as problem:
        print(problem, file=err)
        return EXIT_INVALID
    except PeerUnavailable as problem:
        print(problem, file=err)
        return EXIT_INVALID
    except BacktestError as problem:
        print(f"{csv_path}: {problem}", file=err)
        return EXIT_INVALID
    if json_out == "-":
        print(json.dumps(data, indent=2), file=out)
        return 0
    print(text, file=out)
    if json_out is not None:
        try:
            Path(json_out).write_text(json.dumps(data, indent=2) + "\n")
        except OSError as problem:
            print(f"{json_out}: cannot write ({problem.strerror})", file=err)
            return EXIT_INVALID
    return 0


def calendar_terms(text: str) -> tuple[int, int]:
    """Daily and weekly harmonics from `daily=N,weekly=M` (either may be left out; `off`:
    none), each 0..MAX_CALENDAR_TERMS."""
    if text.strip().lower() in {"off", "none", "0"}:
        return 0, 0
    shown = text if len(text) <= 40 else text[:37] + "..."
    terms = {"daily": 0, "weekly": 0}
    seen = set()
    for part in text.split(","):
        name, sep, value = part.partition("=")
        name, value = name.strip().lower(), value.strip()
        if not sep or name not in terms:
            raise UsageError(f"--calendar {shown!r}: expected daily=N,weekly=M (or off)")
        if name in seen:
            raise UsageError(f"--calendar {shown!r}: {name} given twice")
        seen.add(name)
        if not (value.isascii() and value.isdigit() and len(value) <= 3
                and int(value) <= MAX_CALENDAR_TERMS):
            raise UsageError(f"--calendar {shown!r}: {name} must be a whole number "
                             f"0..{MAX_CALENDAR_TERMS} (harmonics of the cycle)")
        terms[name] = int(value)
    return terms["daily"], terms["weekly"]


def _horizons(text: str) -> list[int]:
    try:
        return parse_horizons(text)
    except ValueError as problem:
        raise UsageError(str(problem)) from None


def _positive(option: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{option} {text!r}: not a number") from None
    if not (math.isfinite(value) and value > 0):
        raise UsageError(f"{option} {text!r}: must be a number > 0")
    return value


def _count(option: str, text: str) -> int:
    if not text.strip().isdigit():
        raise UsageError(f"{option} {text!r}: expected a whole number >= 0")
    return int(text)


def _seconds_text(seconds: float) -> str:
    for unit in ("d", "h", "min"):
        if seconds >= _UNITS[unit] and seconds % _UNITS[unit] == 0:
            return f"{seconds / _UNITS[unit]:g}{unit}"
    return f"{seconds:g}s"
