"""Regressions the CLI robustness cases found, in process: one line and exit 2, no traceback.

Huge `--horizon`, `--window` and `--seasons` overflowed or filled memory in the
backtest; a URL httpx cannot parse and a missing or non-PEM `--cacert` escaped
`api` as tracebacks. (The process-level cases: tests/system/test_robust_cli.py.)
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from sdn_shadow.cli import main
from tests.robustness import record

ROWS = "".join(f"{1_600_000_000 + 300 * i},{100 + i % 7}\n" for i in range(2000))


@pytest.fixture
def series(tmp_path: Path) -> Path:
    path = tmp_path / "s.csv"
    path.write_text("timestamp,value\n" + ROWS)
    return path


@pytest.mark.parametrize(("options", "says"), [
    (["--horizon", "1" + "0" * 400, "--period", "12"], "--horizon: too large"),
    (["--horizon", "1", "--period", "9" * 400], "--period: too large"),
    (["--horizon", "1", "--period", "12", "--window", "9" * 30], "the window (" + "9" * 30 + ")"),
    (["--horizon", "1", "--period", "12", "--window", "9" * 400], "--window: too large"),
    (["--horizon", "1" + "0" * 20, "--period", "12"], "points before the test set"),
])
def test_huge_backtest_lengths_are_refused_in_one_line(series, capsys, options, says) -> None:
    code = main(["forecast", "backtest", str(series), *options])
    err = capsys.readouterr().err
    record("cli-in-process", " ".join(options)[:80], clear=code == 2 and says in err
           and len(err.strip().splitlines()) == 1, alive=True)
    assert code == 2 and says in err, err
    assert len(err.strip().splitlines()) == 1


def test_huge_seasons_are_as_many_as_the_series_holds(series, capsys) -> None:
    code = main(["forecast", "backtest", str(series), "--horizon", "1", "--period", "12",
                 "--seasons", "9" * 30, "--json", "-"])
    out = capsys.readouterr().out
    record("cli-in-process", "--seasons 9*30", clear=code == 0, alive=True)
    assert code == 0 and '"n_periods"' in out


@pytest.mark.parametrize(("args", "says"), [
    (["--url", "http://[::1", "health"], "--url http://[::1: "),
    (["--url", "http://127.0.0.1:x", "health"], "--url http://127.0.0.1:x: "),
    (["--url", "https://127.0.0.1:1", "--cacert", "nope.pem", "health"],
     "--cacert nope.pem: No such file or directory"),
])
def test_api_answers_a_bad_url_or_ca_in_one_line(capsys, monkeypatch, args, says) -> None:
    monkeypatch.setenv("SDN_SHADOW_TOKEN", "t")
    code = main(["api", *args])
    err = capsys.readouterr().err
    record("cli-in-process", " ".join(args), clear=code == 2 and says in err, alive=True)
    assert code == 2 and err.startswith(says) and len(err.strip().splitlines()) == 1, err


@pytest.fixture
def fifo(tmp_path: Path):
    """A FIFO; a watchdog opens its write end after 20 s so a blocked reader fails, not hangs."""
    import os
    import threading

    path = tmp_path / "input.fifo"
    os.mkfifo(path)
    done = threading.Event()

    def watchdog() -> None:
        while not done.wait(20):
            with contextlib.suppress(OSError):  # ENXIO when nobody reads
                os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))  # frees a blocked reader
    thread = threading.Thread(target=watchdog, daemon=True)
    thread.start()
    yield path
    done.set()
    thread.join()


@pytest.mark.parametrize("command", [["analyze", "{}"],
                                     ["forecast", "backtest", "{}", "--horizon", "1",
                                      "--period", "12"]])
def test_a_fifo_is_refused_not_waited_on(fifo, capsys, command) -> None:
    code = main([str(fifo) if a == "{}" else a for a in command])
    err = capsys.readouterr().err
    record("cli-in-process", f"{command[0]} fifo", clear=code == 2, alive=True)
    assert code == 2 and "not a regular file" in err, err
