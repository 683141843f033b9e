"""Sample measured rates and forecasts while a lab act runs, as the demo report's series.

Each sample is `[t, measured, lower, point, upper]` in bytes/s. `StateSampler`
reads the controller's state file (a lab the caller holds); `ApiSampler` reads
the REST API (`/fabric`, `/forecasts`) of a controller started elsewhere, and
keeps quiet while it is not answering yet or any more.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx

Sample = list[float | None]


class _Thread:
    """A sampling loop in a daemon thread, every `every` s between `with` and its end."""

    def __init__(self, every: float) -> None:
        self.every = every
        self.samples: dict[str, list[Sample]] = {}
        self.capacity: dict[str, float | None] = {}
        self.horizon, self.level = 0.0, 0.9
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-sampler", daemon=True)

    def __enter__(self) -> _Thread:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.sample()

    def sample(self) -> None:
        """Take one sample of every series (errors mean: none this time)."""
        raise NotImplementedError

    def add(self, key: str, t: float, measured: float | None,
            forecast: tuple[float | None, float | None, float | None]) -> None:
        """Keep one sample of series `key`."""
        self.samples.setdefault(key, []).append([t, measured, *forecast])

    def series(self, keys: tuple[str, ...] | None = None,
               busiest: int | None = None) -> list[dict[str, Any]]:
        """The report's series: `keys` (default all sampled), or the `busiest` few by their
        highest measured rate."""
        chosen = list(keys) if keys is not None else sorted(self.samples)
        if busiest is not None:
            peak = {k: max((s[1] or 0.0 for s in self.samples.get(k, [])), default=0.0)
                    for k in chosen}
            chosen = sorted(chosen, key=lambda k: -peak[k])[:busiest]
        return [{"key": k, "horizon": self.horizon, "level": self.level,
                 "capacity": self.capacity.get(k), "samples": self.samples.get(k, [])}
                for k in chosen]


class StateSampler(_Thread):
    """Samples `keys` from a lab controller's state file (`lab.controller.state()`)."""

    def __init__(self, lab: Any, keys: tuple[str, ...], every: float = 0.5) -> None:
        super().__init__(every)
        self.lab, self.keys = lab, keys
        for key in keys:
            self.samples[key] = []

    def sample(self) -> None:
        """Read the state file once."""
        try:
            state = self.lab.controller.state()
        except (OSError, ValueError):
            return  # the state file between writes
        forecast = state.get("forecast", {})
        self.horizon = float(forecast.get("horizon_s") or self.horizon)
        self.level = float(forecast.get("level") or self.level)
        now = time.time()
        for key in self.keys:
            lower, point, upper = forecast.get("series", {}).get(key) or (None,) * 3
            self.add(key, now, state.get("demand", {}).get(key), (lower, point, upper))


class ApiSampler(_Thread):
    """Samples every link direction from a controller's REST API at `base` (with `token`)."""

    def __init__(self, base: str, token: str, every: float = 0.5,
                 transport: httpx.BaseTransport | None = None) -> None:
        super().__init__(every)
        self.http = httpx.Client(base_url=f"{base}/api/v1", timeout=2.0, transport=transport,
                                 headers={"Authorization": f"Bearer {token}"})

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        self.http.close()

    def sample(self) -> None:
        """Read `/fabric` (and `/forecasts` for the horizon and level) once."""
        try:
            fabric = self.http.get("/fabric").raise_for_status().json()
            forecasts = self.http.get("/forecasts").raise_for_status().json()
        except (httpx.HTTPError, ValueError):
            return  # not up yet, or gone
        self.horizon = float(forecasts.get("horizon_s") or 0.0)
        self.level = float(forecasts.get("level") or 0.9)
        for link in fabric.get("links", []):
            key = f"link:{link['src']}:{link['dst']}"
            f = link.get("forecast") or {}
            self.capacity[key] = link.get("capacity")
            self.add(key, float(fabric["at"]), link.get("demand"),
                     (f.get("lower"), f.get("point"), f.get("upper")))
