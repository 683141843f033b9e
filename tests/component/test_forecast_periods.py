"""The controller takes `forecast.period` as a hint: a series whose cycle is not the
configured one (283 steps under a hint of 288) is forecast on the period its data
shows, `GET /api/v1/forecasts` says which and why, and a restart keeps it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from sdn_shadow.app import ShadowApp
from sdn_shadow.config import parse_config
from sdn_shadow.control.startup import RunSettings
from sdn_shadow.forecast.model import SlidingWindowForecaster
from tests.component.test_kept_models_restart import api_forecasts

RING = Path(__file__).resolve().parents[2] / "examples" / "ring.yaml"
HINT, TRUE = 288, 283  # steps of 1 s: the configured "day" and the one the data keeps
CYCLES = {"network:tenant-a:tx": TRUE, "client:tenant-a:h1:tx": TRUE,
          "client:tenant-a:h2:tx": HINT, "link:s1:s2": HINT}


def start(tmp_path: Path, now: float) -> ShadowApp:
    """The controller on the ring, a window of 1500 points, the period hint 288 s."""
    data = yaml.safe_load(RING.read_text())
    data["telemetry"] = {"history": str(tmp_path / "history.db"), "flow_interval": 1,
                         "window": 1500}
    data["forecast"] = {"window": 8, "horizon": 2, "period": HINT, "refit": 600}
    app = ShadowApp(settings=RunSettings(parse_config(data), str(RING),
                                         state_file=str(tmp_path / "state.json")))
    app.run.clock = lambda: now
    app.run.prepare()
    return app


def cycle(t: np.ndarray, period: int) -> np.ndarray:
    """A daily peak (a tenth of the cycle wide) on a floor: its phase tells the period."""
    phase = (t % period) / period
    return 1 + 4 * np.exp(-0.5 * ((phase - 0.5) / 0.02) ** 2)


def feed(app: ShadowApp, n: int) -> None:
    rng = np.random.default_rng(7)
    t = np.arange(n)
    rows = {k: 1e5 * (i + 1) * cycle(t, p) * (1 + 0.05 * rng.standard_normal(n))
            for i, (k, p) in enumerate(CYCLES.items())}
    for i in range(n):
        app.run.series.append(float(i), {k: float(v[i]) for k, v in rows.items()})


def test_the_controller_forecasts_each_series_on_the_period_its_data_shows(tmp_path) -> None:
    app = start(tmp_path, 2000.0)
    feed(app, 1500)
    app.run.forecast_once()
    cap = app.run.core.capacity
    for key, period in CYCLES.items():
        assert cap.periods[key].period == period, cap.periods[key]
        assert cap.sources[key] == ("full" if period == HINT else f"full_{TRUE}")
    assert set(cap.models) == {"full", f"full_{TRUE}"}
    assert cap.models[f"full_{TRUE}"].estimator.period == TRUE
    assert cap.models["full"].estimator.period == HINT
    models = api_forecasts(app)["models"]
    moved = models["network:tenant-a:tx"]
    assert (moved["period"], moved["period_s"], moved["period_source"]) == (TRUE, 283.0, "data")
    assert moved["period_reason"].startswith("the data says 283, not the hint 288")
    kept = models["link:s1:s2"]
    assert (kept["period"], kept["period_source"]) == (HINT, "hint")
    assert kept["period_reason"].startswith("the data confirms the hint 288")


def test_a_restart_forecasts_at_once_on_the_periods_it_kept(tmp_path, monkeypatch) -> None:
    first = start(tmp_path, 2000.0)
    feed(first, 1500)
    first.run.forecast_once()
    before = dict(first.run.core.capacity.forecasts)
    periods = dict(first.run.core.capacity.periods)
    first.run.series.close()

    def no_fit(self, Y, prior_coef=None):
        raise AssertionError("the restarted controller refitted")

    def no_check(*args, **kwargs):
        raise AssertionError("the restarted controller checked a period again")

    monkeypatch.setattr(SlidingWindowForecaster, "fit_series", no_fit)
    monkeypatch.setattr("sdn_shadow.forecast.live_period.detect_periods", no_check)
    again = start(tmp_path, 2500.0)
    assert set(again.run.core.capacity.models) == {"full", f"full_{TRUE}"}
    again.run.forecast_once()
    assert again.run.core.capacity.forecasts == before
    assert again.run.core.capacity.periods == periods
    assert api_forecasts(again)["models"]["client:tenant-a:h1:tx"]["period"] == TRUE
