"""The controller recalibrates its intervals on live errors: a model fitted on calm
traffic keeps forecasting (no refit) while the noise grows, and round after round the
intervals widen to the errors measured; `GET /api/v1/forecasts` shows by how much."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml
from fastapi.testclient import TestClient

from sdn_shadow.api.auth import TokenBook
from sdn_shadow.api.rest import PREFIX, create_app
from sdn_shadow.api.service import ControllerService
from sdn_shadow.app import ShadowApp
from sdn_shadow.config import parse_config
from sdn_shadow.control.startup import RunSettings
from sdn_shadow.forecast.conformal import RECALIBRATION_MIN

RING = Path(__file__).resolve().parents[2] / "examples" / "ring.yaml"
SERIES = ["network:tenant-a:tx", "client:tenant-a:h1:tx", "link:s1:s2"]
CALM, ROUNDS = 300, RECALIBRATION_MIN + 60


def start(tmp_path: Path) -> tuple[ShadowApp, list[float]]:
    """The controller on the ring, a point a second, a 2 s horizon, models never refitted."""
    data = yaml.safe_load(RING.read_text())
    data["telemetry"] = {"flow_interval": 1, "window": 512}
    data["forecast"] = {"window": 8, "horizon": 2, "period": 20, "refit": 1e9}
    app = ShadowApp(settings=RunSettings(parse_config(data), str(RING),
                                         state_file=str(tmp_path / "state.json")))
    clock = [0.0]
    app.run.clock = lambda: clock[0]
    app.run.prepare()
    return app, clock


def test_intervals_widen_to_the_live_errors_round_after_round(tmp_path) -> None:
    app, clock = start(tmp_path)
    rng = np.random.default_rng(11)
    level = {k: (i + 1) * 1e5 for i, k in enumerate(SERIES)}

    def point(t: int, noise: float) -> dict[str, float]:
        shape = 1.5 + np.sin(2 * np.pi * t / 20)
        return {k: v * shape * float(np.exp(noise * rng.standard_normal()))
                for k, v in level.items()}

    for t in range(CALM):
        app.run.series.append(float(t), point(t, 0.03))
    clock[0] = CALM - 1.0
    app.run.forecast_once()
    cap = app.run.core.capacity
    key = SERIES[0]
    fitted = cap.forecasts[key]
    for t in range(CALM, CALM + ROUNDS):  # the noise grows tenfold; one round a point
        app.run.series.append(float(t), point(t, 0.3))
        clock[0] = float(t)
        app.run.forecast_once()
    assert {m.fitted_at for m in cap.models.values()} == {CALM - 1.0}, "no refit"
    now = cap.forecasts[key]
    assert np.log(now.upper / now.lower) > 3 * np.log(fitted.upper / fitted.lower)
    book = TokenBook()
    token = book.add("viewer-1", "viewer")
    http = TestClient(create_app(ControllerService(app.run.core, lambda updates: None), book))
    answer = http.get(f"{PREFIX}/forecasts", headers={"Authorization": f"Bearer {token}"})
    shown = answer.json()["models"][key]["calibration"]
    assert shown["live_scores"] == ROUNDS + 1 - 2  # all forecasts but the last two
    assert shown["interval_factor"] > 3.0
    assert shown["adapted_level"] > 0.9  # it is making up for the misses before it knew
