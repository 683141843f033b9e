"""`sdn-shadow forecast backtest` on the NAB series of tests/data: runs, full JSON, beats
baselines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sdn_shadow.cli import main
from tests.datasets import SAMPLES

DATA = SAMPLES / "timeseries"
SERIES = {  # short name: (file, period)
    "nyc_taxi": ("nab_nyc_taxi_30min.csv", 48),
    "ec2_network_in": ("nab_ec2_network_in_257a54_5min.csv", 288),
    "twitter_aapl": ("nab_twitter_volume_aapl_5min.csv", 288),
    "elb_request_count": ("nab_elb_request_count_5min.csv", 288),
}
#: The corpus README's reference figures for these very files: (h=1 naive, h=12 naive,
#: h=12 seasonal naive) MAPE, percent
REFERENCE = {
    "nyc_taxi": (12.16, 200.9, 134.5),
    "ec2_network_in": (7.80, 6.74, 6.25),
    "twitter_aapl": (31.84, 66.02, 156.0),
}
TOP_FIELDS = {"file", "step_seconds", "points", "test_start", "test_points",
              "zero_targets_left_out_of_mape", "horizon", "period", "level", "train_fraction",
              "refit_every", "refits", "model_params", "selection", "mape_unit", "models",
              "period_finding"}
SCORES = {"mape", "rmse", "mae"}


def _backtest(tmp: Path, name: str, horizon: int) -> dict:
    file, period = SERIES[name]
    out = tmp / f"{name}-h{horizon}.json"
    code = main(["forecast", "backtest", str(DATA / file), "--horizon", str(horizon),
                 "--period", str(period), "--json", str(out)])
    assert code == 0
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[tuple[str, int], dict]:
    tmp = tmp_path_factory.mktemp("backtest")
    runs = [(name, 12) for name in SERIES] + [(name, 1) for name in REFERENCE]
    return {(name, h): _backtest(tmp, name, h) for name, h in runs}


@pytest.mark.parametrize("name", SERIES)
def test_json_has_every_field(results, name) -> None:
    data = results[name, 12]
    assert set(data) == TOP_FIELDS
    assert set(data["models"]) == {"sliding_window", "naive", "seasonal_naive"}
    assert set(data["models"]["sliding_window"]) == SCORES | {"coverage", "interval_width"}
    for baseline in ("naive", "seasonal_naive"):
        assert set(data["models"][baseline]) == SCORES
    for scores in data["models"].values():
        assert all(isinstance(v, float) and v >= 0 for v in scores.values())
    assert data["horizon"] == 12 and data["period"] == SERIES[name][1]
    assert data["test_points"] == data["points"] // 5


@pytest.mark.parametrize("name", REFERENCE)
def test_baselines_agree_with_the_reference_numbers(results, name) -> None:
    naive_h1, naive_h12, seasonal_h12 = REFERENCE[name]
    assert results[name, 1]["models"]["naive"]["mape"] == pytest.approx(naive_h1, abs=0.01)
    assert results[name, 12]["models"]["naive"]["mape"] == pytest.approx(naive_h12, abs=0.1)
    assert results[name, 12]["models"]["seasonal_naive"]["mape"] == pytest.approx(seasonal_h12,
                                                                                abs=0.1)


def test_nyc_taxi_h12_mape_is_below_both_baselines(results) -> None:
    models = results["nyc_taxi", 12]["models"]
    ours = models["sliding_window"]["mape"]
    assert ours < models["naive"]["mape"] and ours < models["seasonal_naive"]["mape"]


@pytest.mark.parametrize("name", SERIES)
def test_interval_coverage_is_near_the_level(results, name) -> None:
    assert 0.85 <= results[name, 12]["models"]["sliding_window"]["coverage"] <= 0.95


def test_table_on_the_terminal_and_durations_for_lengths(capsys) -> None:
    file = str(DATA / SERIES["nyc_taxi"][0])
    assert main(["forecast", "backtest", file, "--horizon", "6h", "--period", "1d"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "horizon 12, period 48" in out[0]
    assert [line.split()[0] for line in out[2:5]] == ["sliding_window", "naive",
                                                     "seasonal_naive"]


def test_json_dash_prints_json_instead_of_the_table(capsys) -> None:
    file = str(DATA / SERIES["ec2_network_in"][0])
    assert main(["forecast", "backtest", file, "--horizon", "1", "--period", "288",
                 "--json", "-"]) == 0
    assert set(json.loads(capsys.readouterr().out)) == TOP_FIELDS


def _csv(tmp_path: Path, text: str) -> str:
    path = tmp_path / "series.csv"
    path.write_text(text)
    return str(path)


def _good_rows(n: int) -> str:
    return "".join(f"{i * 60},{10 + i % 24}\n" for i in range(n))


@pytest.mark.parametrize("body,args,message", [
    (None, ["--horizon", "1", "--period", "24"], "no such file"),
    ("", ["--horizon", "1", "--period", "24"], "empty file"),
    ("time,value\n1,2\n", ["--horizon", "1", "--period", "24"], "header must be"),
    ("timestamp,value\n", ["--horizon", "1", "--period", "24"], "no data rows"),
    ("timestamp,value\n0,1\n60,x\n", ["--horizon", "1", "--period", "24"], ":3: value 'x'"),
    ("timestamp,value\n0,1\n60,nan\n", ["--horizon", "1", "--period", "24"], "not finite"),
    ("timestamp,value\n0,1,2\n", ["--horizon", "1", "--period", "24"], "expected 2 fields"),
    ("timestamp,value\n60,1\n0,2\n", ["--horizon", "1", "--period", "24"], "not after"),
    ("timestamp,value\nyesterday,1\n", ["--horizon", "1", "--period", "24"], "ISO 8601"),
    ("timestamp,value\n" + _good_rows(2000), ["--horizon", "0", "--period", "24"],
     "--horizon '0': must be at least 1 step"),
    ("timestamp,value\n" + _good_rows(2000), ["--horizon", "-3", "--period", "24"], "--horizon"),
    ("timestamp,value\n" + _good_rows(2000), ["--horizon", "1", "--period", "1.5"], "whole"),
    ("timestamp,value\n" + _good_rows(2000), ["--horizon", "1", "--period", "90s"],
     "not a whole number of 1min steps"),
    ("timestamp,value\n" + _good_rows(2000), ["--horizon", "1", "--period", "24",
                                               "--level", "1.2"], "--level"),
    ("timestamp,value\n" + _good_rows(2000), ["--horizon", "1", "--period", "24",
                                               "--train-fraction", "1"], "--train-fraction"),
    ("timestamp,value\n" + _good_rows(100), ["--horizon", "1", "--period", "24"], "too short"),
    ("timestamp,value\n" + _good_rows(2000), ["--horizon", "1", "--period", "24",
                                               "--calendar", "daily=99"], "--calendar"),
    ("timestamp,value\n" + _good_rows(2000), ["--horizon", "1", "--period", "24",
                                               "--calendar", "monthly=1"], "--calendar"),
    ("timestamp,value\n" + _good_rows(2000), ["--horizon", "1", "--period", "24",
                                               "--calendar", "daily=12"],
     "12 daily calendar terms need a cycle of more than 24 steps; the period is 24"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, body, args, message) -> None:
    path = str(tmp_path / "missing.csv") if body is None else _csv(tmp_path, body)
    assert main(["forecast", "backtest", path, *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and message in lines[0], captured.err




ELB = str(DATA / "nab_elb_request_count_5min.csv")


def test_calendar_terms_change_the_forecast_and_are_reported(capsys) -> None:
    args = ["forecast", "backtest", ELB, "--horizon", "12", "--period", "1d", "--json", "-"]
    assert main(args) == 0
    plain = json.loads(capsys.readouterr().out)
    assert main([*args, "--calendar", "daily=2,weekly=1"]) == 0
    terms = json.loads(capsys.readouterr().out)
    assert plain["model_params"]["daily_terms"] == plain["model_params"]["weekly_terms"] == 0
    assert (terms["model_params"]["daily_terms"], terms["model_params"]["weekly_terms"]) == (2, 1)
    assert terms["selection"] is None
    assert terms["models"]["sliding_window"] != plain["models"]["sliding_window"]
    assert terms["models"]["naive"] == plain["models"]["naive"]
    assert main(args[:-2] + ["--calendar", "daily=2,weekly=1"]) == 0
    assert "model: calendar daily=2,weekly=1" in capsys.readouterr().out.splitlines()


def test_select_chooses_on_the_training_part_and_says_what(capsys) -> None:
    args = ["forecast", "backtest", ELB, "--horizon", "12", "--period", "1d", "--select"]
    assert main([*args, "--json", "-"]) == 0
    data = json.loads(capsys.readouterr().out)
    chosen = data["selection"]
    assert data["model_params"]["select"] is True
    tried = {json.dumps(t["change"], sort_keys=True): t["mape"]
             for t in chosen["validation_mape"]}
    assert len(tried) == 5 and "{}" in tried
    best = tried[json.dumps(chosen["chosen"], sort_keys=True)]
    assert best == min(tried.values())
    assert chosen["chosen"] != {}  # on this series the given settings lose
    assert chosen["used"]["daily_terms"] == chosen["chosen"].get("daily_terms", 0)
    assert chosen["used"]["select"] is False
    assert main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2] == ("model: calendar terms and window chosen per series on the "
                         "training part")
    used = chosen["used"]
    assert lines[-1].startswith(f"chosen: calendar daily={used['daily_terms']},weekly="
                                f"{used['weekly_terms']} (validation MAPE ")
    assert f"{best:.2f}%, the given settings {tried['{}']:.2f}%" in lines[-1]


def test_the_mape_fitted_point_can_be_asked_for_by_name(capsys) -> None:
    args = ["forecast", "backtest", ELB, "--horizon", "12", "--period", "1d",
            "--calendar", "daily=2", "--json", "-"]
    assert main([*args, "--point", "mape"]) == 0
    shifted = json.loads(capsys.readouterr().out)
    assert main([*args, "--point", "mape_calendar"]) == 0
    fitted = json.loads(capsys.readouterr().out)
    assert fitted["model_params"]["point"] == "mape_calendar"
    # fitted to the MAPE itself, it beats the shifted median on this bursty series
    assert (fitted["models"]["sliding_window"]["mape"]
            < shifted["models"]["sliding_window"]["mape"])
