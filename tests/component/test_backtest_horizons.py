"""`forecast backtest --horizons` and `--peer gbm`: one run, a table and JSON, the period found."""

from __future__ import annotations

import builtins
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from sdn_shadow.cli import main
from tests.conftest import in_ci
from tests.datasets import SAMPLES

EC2 = str(SAMPLES / "timeseries" / "nab_ec2_network_in_257a54_5min.csv")
HAVE_LIGHTGBM = importlib.util.find_spec("lightgbm") is not None


def _lying_clock(tmp_path: Path) -> str:
    """5-minute stamps (a day is 288 steps) on a bursty cycle of 283 steps."""
    rng = np.random.default_rng(0)
    n = 12_000
    t = np.arange(n)
    y = np.exp(3 + np.sin(2 * np.pi * t / 283) + rng.normal(0, 0.2, n))
    y[rng.integers(0, n, 30)] *= 500
    path = tmp_path / "lying.csv"
    path.write_text("timestamp,value\n" + "".join(f"{1.4e9 + 300 * i:.0f},{v:.3f}\n"
                                                  for i, v in enumerate(y)))
    return str(path)


def test_horizon_list_gives_one_row_each_and_json(tmp_path, capsys) -> None:
    out = tmp_path / "h.json"
    assert main(["forecast", "backtest", EC2, "--horizons", "1,6,12", "--period", "1d",
                 "--json", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("period: kept the hint 288")
    assert [line.split()[0] for line in lines[3:6]] == ["1", "6", "12"]
    data = json.loads(out.read_text())
    assert [row["horizon"] for row in data["horizons"]] == [1, 6, 12]
    assert data["period_finding"]["period"] == 288
    assert all(row["period"] == 288 for row in data["horizons"])


def test_a_range_runs_every_horizon() -> None:
    from sdn_shadow.forecast.horizons import parse_horizons

    assert parse_horizons("1-24") == list(range(1, 25))
    assert parse_horizons("12, 1,6,1-2") == [1, 2, 6, 12]
    for bad in ("0-3", "5-2", "x", "", "1-"):
        with pytest.raises(ValueError, match="--horizons"):
            parse_horizons(bad)


def test_the_period_the_data_shows_beats_the_clock(tmp_path, capsys) -> None:
    assert main(["forecast", "backtest", _lying_clock(tmp_path), "--horizon", "12",
                 "--period", "1d", "--json", "-"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["period"] == 283
    assert data["period_finding"]["source"] == "data"
    assert data["period_finding"]["hint"] == 288


def test_without_period_or_horizon(tmp_path, capsys) -> None:
    assert main(["forecast", "backtest", EC2]) == 2
    assert "--horizon" in capsys.readouterr().err
    assert main(["forecast", "backtest", EC2, "--horizons", "3-1"]) == 2
    assert "runs backwards" in capsys.readouterr().err


def test_peer_without_lightgbm_is_a_clear_error(monkeypatch, capsys) -> None:
    real = builtins.__import__

    def no_lightgbm(name, *args, **kwargs):
        if name == "lightgbm":
            raise ImportError("no lightgbm")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_lightgbm)
    monkeypatch.setattr(importlib, "import_module",
                        lambda name, *a: no_lightgbm(name) if name == "lightgbm" else None)
    assert main(["forecast", "backtest", EC2, "--horizon", "1", "--peer", "gbm"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("--peer gbm needs lightgbm") and "bench" in err


def test_peer_row_under_the_same_protocol(capsys) -> None:
    if not HAVE_LIGHTGBM:
        if in_ci():
            pytest.fail("lightgbm is missing (CI=true): install the bench extra")
        pytest.skip("lightgbm is not installed (the bench extra)")
    assert main(["forecast", "backtest", EC2, "--horizons", "12", "--period", "288",
                 "--peer", "gbm", "--json", "-"]) == 0
    row = json.loads(capsys.readouterr().out)["horizons"][0]
    peer = row["peer"]
    assert peer["name"] == "gbm" and peer["fits"] == 2  # 806 test points, refit every 576
    assert 1.0 < peer["mape"] < 20.0
    assert peer["ratio_ours_to_peer"] == pytest.approx(
        row["models"]["sliding_window"]["mape"] / peer["mape"])


def test_select_names_the_choice_of_every_horizon(capsys) -> None:
    assert main(["forecast", "backtest", EC2, "--horizons", "1,12", "--period", "1d",
                 "--select", "--point", "mape"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[2].endswith("  chosen")
    assert [line.split("  ")[-1] for line in lines[3:5]] == ["given", "given"]
    assert lines[5] == ("model: point mape, calendar terms and window chosen per series on "
                        "the training part")
