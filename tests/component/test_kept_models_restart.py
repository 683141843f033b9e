"""A restarted controller forecasts at once from the models it kept in its history
database, and `GET /api/v1/forecasts` names each series' model and version."""

from __future__ import annotations

import logging
import sqlite3
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
from sdn_shadow.forecast.model import SlidingWindowForecaster
from sdn_shadow.forecast.round import model_version

RING = Path(__file__).resolve().parents[2] / "examples" / "ring.yaml"
SERIES = ["network:tenant-a:tx", "client:tenant-a:h1:tx", "client:tenant-a:h2:tx",
          "link:s1:s2"]


def start(tmp_path: Path, now: float, **forecast: float) -> ShadowApp:
    """The controller on the ring with its history in tmp_path, planned at `now`."""
    data = yaml.safe_load(RING.read_text())
    data["telemetry"] = {"history": str(tmp_path / "history.db"), "flow_interval": 1}
    data["forecast"] = {"window": 8, "horizon": 2, "period": 20, **forecast}  # the data's
    settings = RunSettings(parse_config(data), str(RING),
                           state_file=str(tmp_path / "state.json"))
    app = ShadowApp(settings=settings)
    app.run.clock = lambda: now
    app.run.prepare()
    return app


def feed(app: ShadowApp, n: int, young: str | None = None) -> None:
    rng = np.random.default_rng(4)
    for t in range(n):
        level = 1.5 + np.sin(2 * np.pi * t / 20)
        values = {k: (i + 1) * 1e5 * level * (1 + 0.05 * rng.standard_normal())
                  for i, k in enumerate(SERIES)}
        if young and t >= n - 150:
            values[young] = 3e5 * level
        app.run.series.append(float(t), values)


def api_forecasts(app: ShadowApp) -> dict:
    book = TokenBook()
    token = book.add("viewer-1", "viewer")
    http = TestClient(create_app(ControllerService(app.run.core, lambda updates: None), book))
    answer = http.get(f"{PREFIX}/forecasts", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    return answer.json()


def test_a_restart_forecasts_at_once_from_the_kept_models(tmp_path, monkeypatch) -> None:
    first = start(tmp_path, 1000.0, refit=600, period_check=86400)
    feed(first, 300, young="client:tenant-a:h3:tx")
    first.run.forecast_once()
    before = dict(first.run.core.capacity.forecasts)
    assert set(first.run.core.capacity.models) == {"full", "young"}
    assert "client:tenant-a:h3:tx" in before and set(SERIES) <= before.keys()
    first.run.series.close()

    def no_fit(self, Y, prior_coef=None):
        raise AssertionError("the restarted controller refitted")

    monkeypatch.setattr(SlidingWindowForecaster, "fit_series", no_fit)
    # far older than `refit`: served all the same, on the periods kept with the models
    again = start(tmp_path, 5000.0, refit=600, period_check=86400)
    assert {m.loaded for m in again.run.core.capacity.models.values()} == {True}
    again.run.forecast_once()
    assert again.run.core.capacity.forecasts == before

    answer = api_forecasts(again)
    version = model_version(SlidingWindowForecaster)
    assert answer["series"].keys() == answer["models"].keys() == before.keys()
    for key in before:
        young = key == "client:tenant-a:h3:tx"
        entry = answer["models"][key]
        reason = entry.pop("period_reason")
        assert entry == {"model": "SlidingWindowForecaster", "version": version,
                         "fitted_at": 1000.0, "slot": "young" if young else "full",
                         "period": 20, "period_s": 20.0, "period_source": "hint",
                         "period_checked_at": None if young else 1000.0,
                         "calibration": {"interval_factor": 1.0, "live_scores": 0,
                                         "adapted_level": 0.9}}  # none measured yet
        assert ("young series" if young else "the data confirms the hint 20") in reason


def test_models_are_saved_after_fits_not_every_round(tmp_path, monkeypatch) -> None:
    app = start(tmp_path, 0.0, refit=600)
    feed(app, 300)
    saved: list[list[str]] = []
    real = app.run.models.store.save
    monkeypatch.setattr(app.run.models.store, "save",
                        lambda records: saved.append([r.name for r in records]) or real(records))
    for now in (1000.0, 1010.0, 1100.0, 1600.0, 1610.0, 1700.0):
        app.run.clock = lambda now=now: now
        app.run.forecast_once()
    # fits at 1000 and 1600 (600 s apart); the rounds between forecast from the kept model
    assert saved == [["full"], ["full"]]
    assert app.run.core.capacity.models["full"].fitted_at == 1600.0


def test_a_corrupt_kept_model_is_logged_and_its_series_refitted(tmp_path, caplog) -> None:
    first = start(tmp_path, 1000.0)
    feed(first, 300)
    first.run.forecast_once()
    before = dict(first.run.core.capacity.forecasts)
    first.run.series.close()
    db = sqlite3.connect(tmp_path / "history.db")
    db.execute("UPDATE model_arrays SET data = x'00' WHERE name = 'coef_'")
    db.commit()
    db.close()
    with caplog.at_level(logging.WARNING, logger="sdn_shadow"):
        again = start(tmp_path, 2000.0)
    assert again.run.core.capacity.models == {}
    assert "saved model 'full' skipped: array coef_: 1 bytes" in caplog.text
    assert "its series are refitted" in caplog.text
    again.run.forecast_once()
    assert again.run.core.capacity.forecasts == before  # the same data, fitted afresh
    assert again.run.core.capacity.models["full"].fitted_at == 2000.0


def test_a_model_kept_under_other_settings_is_refitted(tmp_path, caplog) -> None:
    first = start(tmp_path, 1000.0)
    feed(first, 300)
    first.run.forecast_once()
    first.run.series.close()
    with caplog.at_level(logging.WARNING, logger="sdn_shadow"):
        again = start(tmp_path, 2000.0, level=0.8)
    assert again.run.core.capacity.models == {}
    assert "fitted with other settings (level)" in caplog.text
