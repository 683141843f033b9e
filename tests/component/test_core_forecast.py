"""ShadowCore's forecast round on synthetic demand: regression, priors, profiles, allocation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from sdn_shadow.config import parse_config
from sdn_shadow.core import ShadowCore

LAB = Path(__file__).resolve().parents[2] / "examples" / "lab.yaml"


def _core() -> ShadowCore:
    data = yaml.safe_load(LAB.read_text())
    data["telemetry"] = {"flow_interval": 1}
    data["forecast"] = {"horizon": 2, "window": 8, "level": 0.9}
    return ShadowCore(parse_config(data))


def _demand(n: int, level: float, rng: np.random.Generator) -> np.ndarray:
    return level * (1.0 + 0.05 * rng.standard_normal(n))


def test_forecast_round_covers_old_young_and_new_clients() -> None:
    rng = np.random.default_rng(3)
    core = _core()
    depth = 200
    needed = core.capacity.history_needed()
    established = {f"client:tenant-a:h{i}:tx": 1e6 * i for i in (1, 2, 3)}
    keys = [*established, "network:tenant-a:tx", "client:tenant-b:b1:tx"]
    history = np.full((len(keys), depth), np.nan)
    for row, level in enumerate(established.values()):
        history[row] = _demand(depth, level, rng)
    history[3] = history[:3].sum(axis=0)
    history[4, -needed:] = _demand(needed, 5e5, rng)  # young: just enough points
    # b2 has sent a little traffic: a profile, but far too short a series to fit.
    for t in range(5):
        core.profiles, _ = core.profiles.observe(
            float(t), {"client:tenant-b:b2:tx": 2e5 * (1 + 0.1 * (t % 2))})

    core.forecast(1000.0, keys, history)

    for key, level in established.items():
        f = core.capacity.forecasts[key]
        assert f.lower <= f.point <= f.upper
        assert abs(f.point / level - 1) < 0.2
    young = core.capacity.forecasts["client:tenant-b:b1:tx"]
    assert abs(young.point / 5e5 - 1) < 0.3
    new = core.capacity.forecasts["client:tenant-b:b2:tx"]
    assert new.lower <= new.point <= new.upper and abs(new.point / 2.1e5 - 1) < 0.2
    prior, lags = core.capacity.prior, core.capacity.forecaster().lag_spec().lags
    assert prior is not None and prior.shape == (lags.size,)
    alloc = core.capacity.allocations["tenant-a"]
    assert alloc.strategy == "conservative"
    assert alloc.held == max(core.capacity.forecasts["network:tenant-a:tx"].upper, 0.0)


def test_series_without_enough_history_get_no_regression_forecast() -> None:
    core = _core()
    history = np.full((1, 50), np.nan)
    history[0, -5:] = 1e6
    core.forecast(0.0, ["link:s1:s2"], history)
    assert core.capacity.forecasts == {}
    assert core.capacity.allocations == {}


def test_a_series_that_jumps_from_idle_is_not_forecast_to_astronomic_rates() -> None:
    """An idle link that starts carrying a moved client: calibration errors are the jump."""
    core = _core()
    depth = 200
    keys = ["link:s1:s2"]
    history = np.zeros((1, depth))
    history[0, -6:] = 4e6  # idle, then 32 Mbit/s for the last 6 points
    core.forecast(1000.0, keys, history)
    f = core.capacity.forecasts["link:s1:s2"]
    assert f.upper <= 2.0 * 4e6 and f.point <= f.upper

    data = yaml.safe_load(LAB.read_text())
    data["forecast"] = {"horizon": 2, "window": 8, "max_growth": 1.0}
    capped = ShadowCore(parse_config(data))
    capped.forecast(1000.0, keys, history)
    assert capped.capacity.forecasts["link:s1:s2"].upper <= 4e6


def test_the_model_work_runs_apart_from_the_core_and_gives_the_same_round() -> None:
    rng = np.random.default_rng(5)
    keys = [f"client:tenant-a:h{i}:tx" for i in (1, 2, 3)] + ["network:tenant-a:tx"]
    history = np.vstack([_demand(200, 1e6 * (i + 1), rng) for i in range(4)])
    inline, apart = _core(), _core()
    inline.forecast(10.0, keys, history)

    job = apart.forecast_job()  # what the app takes under its lock
    fitted = job.run(keys, history)  # ... and runs outside it
    assert apart.capacity.forecasts == {} and apart.capacity.prior is None, (
        "running the job changed the core")
    apart.take_forecasts(10.0, fitted)
    assert apart.capacity.forecasts == inline.capacity.forecasts
    assert np.array_equal(apart.capacity.prior, inline.capacity.prior)
    assert apart.capacity.allocations == inline.capacity.allocations
