"""A restarted controller scales its intervals as it did before the restart: the live
recalibration is kept in the history database beside the models and restored at start,
and a database from before it was kept still loads its models."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import numpy as np
import yaml

from sdn_shadow.app import ShadowApp
from sdn_shadow.config import parse_config
from sdn_shadow.control.startup import RunSettings
from sdn_shadow.forecast.conformal import RECALIBRATION_MIN
from sdn_shadow.forecast.model import SlidingWindowForecaster
from tests.component.test_kept_models_restart import api_forecasts

RING = Path(__file__).resolve().parents[2] / "examples" / "ring.yaml"
SERIES = ["network:tenant-a:tx", "client:tenant-a:h1:tx", "link:s1:s2"]
CALM, ROUNDS = 300, RECALIBRATION_MIN + 60
LAST = float(CALM + ROUNDS - 1)


def start(tmp_path: Path, now: float, **forecast: float) -> ShadowApp:
    """The controller on the ring, its history in tmp_path: a point a second, a 2 s
    horizon, models never refitted, the calibration saved every round it changes."""
    data = yaml.safe_load(RING.read_text())
    data["telemetry"] = {"history": str(tmp_path / "history.db"), "flow_interval": 1,
                         "window": 512}
    data["forecast"] = {"window": 8, "horizon": 2, "period": 20, "refit": 1e9, **forecast}
    app = ShadowApp(settings=RunSettings(parse_config(data), str(RING),
                                         state_file=str(tmp_path / "state.json")))
    app.run.clock = lambda: now
    app.run.prepare()
    app.run.models.calibration_every = 0.0
    return app


def calibrated(tmp_path: Path) -> ShadowApp:
    """Calm traffic fitted, then noise ten times as large, a round a point: the intervals
    widen to the live errors (and the last round's calibration is saved)."""
    app = start(tmp_path, CALM - 1.0)
    rng = np.random.default_rng(11)

    def point(t: int, noise: float) -> dict[str, float]:
        shape = 1.5 + np.sin(2 * np.pi * t / 20)
        return {k: (i + 1) * 1e5 * shape * float(np.exp(noise * rng.standard_normal()))
                for i, k in enumerate(SERIES)}

    for t in range(CALM):
        app.run.series.append(float(t), point(t, 0.03))
    app.run.forecast_once()
    for t in range(CALM, CALM + ROUNDS):
        app.run.series.append(float(t), point(t, 0.3))
        app.run.clock = lambda t=t: float(t)
        app.run.forecast_once()
    app.run.series.close()
    return app


def test_the_first_round_after_a_restart_scales_as_the_last_one_before(
        tmp_path, monkeypatch) -> None:
    first = calibrated(tmp_path)
    cap = first.run.core.capacity
    before = dict(cap.forecasts)
    shown = api_forecasts(first)["models"]
    factors = {k: shown[k]["calibration"] for k in SERIES}
    assert all(f["interval_factor"] > 2.0 for f in factors.values()), factors

    def no_fit(self, Y, prior_coef=None):
        raise AssertionError("the restarted controller refitted")

    monkeypatch.setattr(SlidingWindowForecaster, "fit_series", no_fit)
    again = start(tmp_path, LAST)
    kept = again.run.core.capacity.calibration
    assert kept is not None and not kept.pending
    np.testing.assert_array_equal(kept.pushed, cap.calibration.pushed)
    again.run.forecast_once()  # the same moment, the same data: the same intervals
    after = again.run.core.capacity.forecasts
    assert after == before
    for key in SERIES:
        assert after[key].upper - after[key].lower == before[key].upper - before[key].lower
    assert {k: api_forecasts(again)["models"][k]["calibration"] for k in SERIES} == factors


def test_without_the_kept_calibration_the_intervals_start_as_fitted(tmp_path) -> None:
    first = calibrated(tmp_path)
    before = dict(first.run.core.capacity.forecasts)
    db = sqlite3.connect(tmp_path / "history.db")
    db.execute("DELETE FROM calibration_arrays")
    db.execute("DELETE FROM calibration")
    db.commit()
    db.close()
    again = start(tmp_path, LAST)
    assert again.run.core.capacity.calibration is None
    again.run.forecast_once()
    key = SERIES[0]
    now = again.run.core.capacity.forecasts[key]
    assert now.upper - now.lower < (before[key].upper - before[key].lower) / 2
    assert api_forecasts(again)["models"][key]["calibration"]["interval_factor"] == 1.0


def test_a_database_from_before_the_calibration_was_kept_loads_its_models(
        tmp_path, caplog) -> None:
    first = calibrated(tmp_path)
    db = sqlite3.connect(tmp_path / "history.db")  # as the previous release left it
    db.execute("DROP TABLE calibration_arrays")
    db.execute("DROP TABLE calibration")
    db.execute("DELETE FROM model_meta WHERE name = 'calibration_format'")
    db.commit()
    db.close()
    with caplog.at_level(logging.INFO, logger="sdn_shadow"):
        again = start(tmp_path, LAST)
    models = again.run.core.capacity.models
    assert set(models) == set(first.run.core.capacity.models)
    assert {m.loaded for m in models.values()} == {True}
    assert again.run.core.capacity.calibration is None
    assert "dropped" not in caplog.text and "skipped" not in caplog.text
    # the tables are back: the next save is kept
    assert again.run.models.keep_calibration(first.run.core.capacity.calibration, LAST) == []
    third = start(tmp_path, LAST + 1)
    assert third.run.core.capacity.calibration is not None


def test_a_kept_calibration_of_another_format_or_level_is_dropped_alone(
        tmp_path, caplog) -> None:
    calibrated(tmp_path)
    db = sqlite3.connect(tmp_path / "history.db")
    db.execute("UPDATE model_meta SET value = 99 WHERE name = 'calibration_format'")
    db.commit()
    db.close()
    with caplog.at_level(logging.WARNING, logger="sdn_shadow"):
        again = start(tmp_path, LAST)
    assert again.run.core.capacity.calibration is None
    assert {m.loaded for m in again.run.core.capacity.models.values()} == {True}
    assert ("the kept calibration is of format 99, this controller reads 1; the intervals "
            "recalibrate afresh") in caplog.text
    level = tmp_path / "level"
    level.mkdir()
    calibrated(level)
    with caplog.at_level(logging.WARNING, logger="sdn_shadow"):
        other = start(level, LAST, level=0.8)
    assert other.run.core.capacity.calibration is None
    assert "the kept calibration is for level 0.9, the forecasts' is 0.8" in caplog.text


def test_a_corrupt_kept_calibration_is_logged_and_rebuilt(tmp_path, caplog) -> None:
    calibrated(tmp_path)
    db = sqlite3.connect(tmp_path / "history.db")
    db.execute("UPDATE calibration_arrays SET data = x'00' WHERE name = 'scores'")
    db.commit()
    db.close()
    with caplog.at_level(logging.WARNING, logger="sdn_shadow"):
        again = start(tmp_path, LAST)
    assert again.run.core.capacity.calibration is None
    assert "the kept calibration skipped: array scores: 1 bytes" in caplog.text
