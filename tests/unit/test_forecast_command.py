"""The backtest command's pieces: lengths in steps or durations, progress lines, CSV reading."""

from __future__ import annotations

import io

import numpy as np
import pytest

from sdn_shadow.forecast import command
from sdn_shadow.forecast.command import Progress, UsageError, fraction, step_of, steps
from sdn_shadow.forecast.series_csv import SeriesFileError, read_series_csv


@pytest.mark.parametrize("text,step,whole,expected", [
    ("12", 1800.0, False, 12), ("6h", 1800.0, False, 12), ("6.1h", 1800.0, False, 13),
    ("30min", 1800.0, False, 1), ("1d", 1800.0, True, 48), ("1d", 300.0, True, 288),
    ("90s", 60.0, False, 2), ("48", None, True, 48),
])
def test_steps(text, step, whole, expected) -> None:
    assert steps("--x", text, step, whole) == expected


@pytest.mark.parametrize("text,step,whole,message", [
    ("0", 60.0, False, "at least 1 step"), ("-1", 60.0, False, "expected"),
    ("1.5", 60.0, False, "whole"), ("90s", 60.0, True, "not a whole number of 1min steps"),
    ("1h", None, False, "needs timestamps"), ("3 weeks", 60.0, False, "expected"),
])
def test_bad_steps(text, step, whole, message) -> None:
    with pytest.raises(UsageError, match=message):
        steps("--x", text, step, whole)


def test_fraction() -> None:
    assert fraction("--level", "0.9") == 0.9
    for bad in ("0", "1", "nine", "-0.2"):
        with pytest.raises(UsageError, match="--level"):
            fraction("--level", bad)


def test_step_is_the_median_gap() -> None:
    assert step_of(np.array([0.0, 300.0, 600.0, 1500.0, 1800.0])) == 300.0
    assert step_of(np.array([5.0])) is None


def test_progress_is_quiet_for_quick_runs_and_rate_limited(monkeypatch) -> None:
    clock = iter([0.0, 0.2, 0.4, 0.6])
    monkeypatch.setattr(command.time, "monotonic", lambda: next(clock))
    stream = io.StringIO()
    quick = Progress(stream)
    quick(1, 3)
    quick(2, 3)
    quick(3, 3)
    assert stream.getvalue() == ""

    clock = iter([0.0, 1.5, 1.7, 3.0, 3.1])
    monkeypatch.setattr(command.time, "monotonic", lambda: next(clock))
    slow = Progress(stream)
    for done in (1, 2, 3, 4):
        slow(done, 4)
    assert stream.getvalue().splitlines() == ["backtest: 1/4 refits (25%)",
                                              "backtest: 3/4 refits (75%)",
                                              "backtest: 4/4 refits (100%)"]


def test_csv_reader_accepts_iso_and_epoch_times_and_skips_blank_lines(tmp_path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("timestamp,value\n2015-01-27 00:00:00,5\n\n2015-01-27 00:30:00,6.5\n")
    times, values = read_series_csv(path)
    assert np.diff(times).tolist() == [1800.0] and values.tolist() == [5.0, 6.5]
    path.write_text("Timestamp , Value\n0,1\n60,2\n")
    assert read_series_csv(path)[1].tolist() == [1.0, 2.0]


def test_csv_reader_rejects_a_directory_and_binary(tmp_path) -> None:
    with pytest.raises(SeriesFileError, match="directory"):
        read_series_csv(tmp_path)
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(SeriesFileError, match="UTF-8"):
        read_series_csv(binary)


@pytest.mark.parametrize("stamp", ["nan", "inf", "-inf", "NaN"])
def test_a_timestamp_that_is_not_a_finite_number_is_refused(tmp_path, stamp) -> None:
    path = tmp_path / "series.csv"
    path.write_text(f"timestamp,value\n1,1\n{stamp},2\n3,3\n")
    with pytest.raises(SeriesFileError, match=r"series.csv:3: timestamp .* is not a finite"):
        read_series_csv(path)


@pytest.mark.parametrize("text,expected", [
    ("daily=2,weekly=1", (2, 1)), ("daily=3", (3, 0)), (" Weekly = 2 ", (0, 2)),
    ("off", (0, 0)), ("daily=0,weekly=12", (0, 12)),
])
def test_calendar_terms(text, expected) -> None:
    assert command.calendar_terms(text) == expected


@pytest.mark.parametrize("text,message", [
    ("daily", "expected daily=N,weekly=M"), ("hourly=2", "expected daily=N,weekly=M"),
    ("daily=13", "0..12"), ("daily=-1", "0..12"), ("daily=1.5", "0..12"),
    ("daily=" + "9" * 5000, "0..12"), ("daily=²", "0..12"),
    ("daily=1,daily=2", "daily given twice"), ("", "expected daily=N,weekly=M"),
])
def test_bad_calendar_terms_name_the_option_and_why(text, message) -> None:
    with pytest.raises(UsageError, match=message) as caught:
        command.calendar_terms(text)
    assert str(caught.value).startswith("--calendar ") and len(str(caught.value)) < 140


def test_the_chosen_line_says_what_was_chosen_and_by_how_much() -> None:
    from sdn_shadow.forecast.backtest import BacktestSetup, Selection

    used = BacktestSetup(horizon=1, period=48, window=48, daily_terms=2, weekly_terms=2)
    tried = (({}, 5.0), ({"daily_terms": 2}, 4.5),
             ({"window_factor": 2, "daily_terms": 2, "weekly_terms": 2}, 4.25))
    picked = Selection(dict(tried[2][0]), used, tried)
    assert picked.describe() == "calendar daily=2,weekly=2, window 48"
    assert command.chosen_line(picked) == (
        "chosen: calendar daily=2,weekly=2, window 48 (validation MAPE 4.25%, the given "
        "settings 5.00%; 3 candidates tried)")
    given = Selection({}, BacktestSetup(horizon=1, period=48), tried[:1])
    assert given.describe() == "given"
    assert command.chosen_line(given) == ("chosen: the given settings (validation MAPE "
                                          "5.00%; 1 candidate tried)")
    assert command.chosen_line(Selection({}, used)) == (
        "chosen: the given settings (no candidate could be validated)")
