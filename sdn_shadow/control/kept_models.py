"""The forecast models kept in the history database: loaded at start, saved after fits.

A model is saved after it is fitted, at most every `MODEL_SAVE` seconds and
only if it is not the one already saved, so a round that reuses its models
writes nothing, and one that refits writes the slots it refitted (and forgets
the period groups no series uses any more). The write
runs outside the controller's lock (measured: ~100 ms and 5.3 MB for 10k
series; loading them back at start, ~20 ms).
"""

from __future__ import annotations

import logging
import math
import sqlite3
import time
from collections.abc import Mapping

from sdn_shadow.forecast.model import SlidingWindowForecaster
from sdn_shadow.forecast.round import FittedModel, restore, to_record
from sdn_shadow.telemetry.model_store import ModelStore

LOG = logging.getLogger("sdn_shadow")
MODEL_SAVE = 60.0  # seconds at least between saves of refitted models


class KeptModels:
    """A model store and which estimator each of its slots holds."""

    def __init__(self, store: ModelStore) -> None:
        self.store = store
        self.written: dict[str, object] = {}  # slot -> the estimator saved there
        self.saved_at = -math.inf
        self.gone: list[str] = []  # saved slots the round's models no longer have

    def load(self, template: SlidingWindowForecaster) -> tuple[dict[str, FittedModel],
                                                               list[str]]:
        """The saved models that `template`'s forecaster can use, and why the others can't."""
        records, problems = self.store.load()
        if self.store.dropped:
            problems.insert(0, f"{self.store.dropped}: dropped")
        models = {}
        for record in records:
            model = restore(record, template)
            if isinstance(model, str):
                problems.append(f"saved model {record.name!r} not used: {model}")
            else:
                models[record.name] = model
                self.written[record.name] = model.estimator
        return models, problems

    def due(self, models: Mapping[str, FittedModel], now: float) -> list[FittedModel]:
        """The models to save at `now`: fitted since their slot was saved, if a save is due."""
        if now - self.saved_at < MODEL_SAVE:
            return []
        self.gone = [name for name in self.written if name not in models]
        return [m for m in models.values() if self.written.get(m.name) is not m.estimator]

    def keep(self, models: Mapping[str, FittedModel], now: float) -> list[str]:
        """Save those of a round's `models` that are due at `now` and forget the slots it
        no longer has, if there are any; log lines saying what was kept or not."""
        due = self.due(models, now)
        return self.save(due, now) if due or self.gone else []

    def save(self, models: list[FittedModel], now: float) -> list[str]:
        """Save `models` (one transaction), forget the slots gone; log lines saying what
        was kept or not."""
        lines, records = [], []
        for name in self.gone:
            try:
                self.store.delete(name)
            except sqlite3.Error as e:
                lines.append(f"forecast model {name!r} not forgotten: {e}")
            self.written.pop(name, None)
        self.gone = []
        for model in models:
            self.written[model.name] = model.estimator  # tried once per fit
            try:
                records.append(to_record(model))
            except ValueError as e:
                lines.append(f"forecast model {model.name!r} not kept: {e}")
        self.saved_at = now
        if not records:
            return lines
        start = time.perf_counter()
        try:
            size = self.store.save(records)
        except (sqlite3.Error, ValueError) as e:
            return [*lines, f"forecast models not kept: {e}"]
        LOG.debug("forecast models %s kept: %d series, %.1f MB, %.0f ms",
                  ", ".join(r.name for r in records), sum(len(r.keys) for r in records),
                  size / 1e6, 1e3 * (time.perf_counter() - start))
        return lines

    def close(self) -> None:
        """Close the store."""
        self.store.close()
